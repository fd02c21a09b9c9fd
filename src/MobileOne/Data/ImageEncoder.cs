using SkiaSharp;

namespace MobileOne.Data;

/// <summary>Encodes images to files with SkiaSharp.</summary>
public static class ImageEncoder
{
    /// <summary>
    /// An 8-bit grayscale PNG (colour type 0) of <paramref name="gray"/>, row by row: lossless, so the
    /// decoded gray levels are the given ones.
    /// </summary>
    public static byte[] GrayPng(ReadOnlySpan<byte> gray, int width, int height)
    {
        if (gray.Length != width * height)
            throw new ArgumentException($"{gray.Length} gray levels for an image of {width}x{height}", nameof(gray));
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var target = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++) // rows may be padded in the bitmap
            gray.Slice(y * width, width).CopyTo(target.Slice(y * bitmap.RowBytes, width));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new MobileOneException($"SkiaSharp could not encode a {width}x{height} gray PNG");
        return data.ToArray();
    }
}
