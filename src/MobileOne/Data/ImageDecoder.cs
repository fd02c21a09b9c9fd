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
    /// Throws <see cref="MobileOneException"/> naming the file when it is missing or not a decodable image.
    /// </summary>
    public static RgbImage Decode(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"image not found: {path}");
        using var data = SKData.Create(path) ?? throw new MobileOneException($"{path}: cannot read the file");
        using var codec = SKCodec.Create(data) ?? throw new MobileOneException($"{path}: not a decodable image (JPEG, PNG, BMP, GIF or WebP expected)");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (info.Width < 1 || info.Height < 1 || (long)info.Width * info.Height > 1L << 28)
            throw new MobileOneException($"{path}: unsupported image size {info.Width}x{info.Height}");
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
            throw new MobileOneException($"{path}: the image is truncated");
        if (result != SKCodecResult.Success)
            throw new MobileOneException($"{path}: the image data are corrupt ({result})");
        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }
        return new RgbImage(info.Width, info.Height, rgb);
    }
}
