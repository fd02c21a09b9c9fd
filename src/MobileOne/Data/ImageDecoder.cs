using SkiaSharp;

namespace MobileOne.Data;

/// <summary>Decodes image files (JPEG, PNG, BMP, GIF, WebP) to 8-bit RGB with SkiaSharp.</summary>
public static class ImageDecoder
{
    /// <summary>File extensions treated as images when a folder is given.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp" };

    /// <summary>
    /// Decodes a file to an RGB image (alpha dropped, not composited, as PIL's convert("RGB") does).
    /// Throws <see cref="MobileOneException"/> naming the file when it is missing, not a decodable image,
    /// damaged, or larger than <see cref="ResourceLimits.MaxImagePixels"/>.
    /// </summary>
    public static RgbImage Decode(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"image not found: {path}");
        using var data = SKData.Create(path) ?? throw new MobileOneException($"{path}: cannot read the file");
        return Decode(data, path);
    }

    /// <summary>
    /// Decodes an encoded image held in memory (an upload), as <see cref="Decode(string)"/> decodes a file;
    /// <paramref name="source"/> names it in errors.
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string source)
    {
        if (encoded.IsEmpty) throw new MobileOneException($"{source}: empty image data");
        using var data = SKData.CreateCopy(encoded);
        return Decode(data, source);
    }

    private static RgbImage Decode(SKData data, string path)
    {
        using var codec = SKCodec.Create(data) ?? throw new MobileOneException($"{path}: not a decodable image (JPEG, PNG, BMP, GIF or WebP expected)");
        CheckSize(codec.Info.Width, codec.Info.Height, path);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        if (bitmap.GetPixels() == IntPtr.Zero) throw new MobileOneException($"{path}: no memory for an image of {info.Width}x{info.Height} pixels");
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw new MobileOneException($"{path}: the image is truncated");
        if (result != SKCodecResult.Success)
            throw new MobileOneException($"{path}: the image data are corrupt ({result})");
        return ToRgb(bitmap.GetPixelSpan(), info.Width, info.Height);
    }

    // The size comes from the file's header: it is checked before anything of that size is allocated.
    private static void CheckSize(int width, int height, string path)
    {
        ResourceLimits.Current.CheckImage(width, height, path);
        if ((long)width * height * 3 > Array.MaxLength)
            throw new MobileOneException($"{path}: an image of {width}x{height} pixels is more than one RGB array can hold");
    }

    private static RgbImage ToRgb(ReadOnlySpan<byte> rgba, int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }
        return new RgbImage(width, height, rgb);
    }
}
