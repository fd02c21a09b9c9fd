using MobileOne.Data;
using SkiaSharp;

namespace MobileOne.Detection;

/// <summary>Draws detections on images: a coloured rectangle per box, with its label and score above it.</summary>
public static class DetectionDrawing
{
    // Distinct, saturated colours, one per label (cycled).
    private static readonly SKColor[] Palette =
    [
        new(230, 25, 75), new(60, 180, 75), new(255, 225, 25), new(0, 130, 200), new(245, 130, 48),
        new(145, 30, 180), new(70, 240, 240), new(240, 50, 230), new(210, 245, 60), new(250, 190, 212),
    ];

    /// <summary>A PNG of <paramref name="image"/> with <paramref name="boxes"/> drawn, labelled by <paramref name="name"/>.</summary>
    public static byte[] Png(RgbImage image, IEnumerable<DetectedBox> boxes, Func<int, string> name) =>
        Sheet([(image, boxes)], name, Math.Max(image.Width, image.Height));

    /// <summary>
    /// A PNG of the images side by side, each scaled to fit a <paramref name="tile"/>-pixel square, with its boxes
    /// (in that image's pixels) drawn.
    /// </summary>
    public static byte[] Sheet(IReadOnlyList<(RgbImage Image, IEnumerable<DetectedBox> Boxes)> images, Func<int, string> name, int tile)
    {
        using var sheet = new SKBitmap(new SKImageInfo(tile * images.Count, tile, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(sheet);
        canvas.Clear(SKColors.White);
        for (int i = 0; i < images.Count; i++)
        {
            var (image, boxes) = images[i];
            float scale = (float)tile / Math.Max(image.Width, image.Height);
            using var bitmap = SKBitmap.Decode(ImageEncoder.RgbPng(image));
            canvas.Save();
            canvas.Translate(i * tile, 0);
            canvas.Scale(scale);
            canvas.DrawBitmap(bitmap, 0, 0);
            Boxes(canvas, boxes, name, Math.Max(1.5f, Math.Min(image.Width, image.Height) / 200f), scale);
            canvas.Restore();
        }
        using var data = sheet.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void Boxes(SKCanvas canvas, IEnumerable<DetectedBox> boxes, Func<int, string> name, float stroke, float scale)
    {
        using var font = new SKFont(SKTypeface.Default, Math.Max(10f / scale, stroke * 6));
        foreach (var b in boxes)
        {
            var colour = Palette[(b.Label - 1 + Palette.Length) % Palette.Length];
            using var pen = new SKPaint { Color = colour, Style = SKPaintStyle.Stroke, StrokeWidth = stroke, IsAntialias = true };
            canvas.DrawRect(SKRect.Create(b.X1, b.Y1, b.Width, b.Height), pen);
            string text = $"{name(b.Label)} {b.Score:F2}";
            float width = font.MeasureText(text), height = font.Size * 1.2f;
            float top = b.Y1 >= height ? b.Y1 - height : b.Y1;
            using var fill = new SKPaint { Color = colour, Style = SKPaintStyle.Fill };
            canvas.DrawRect(SKRect.Create(b.X1, top, width + 4, height), fill);
            using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(text, b.X1 + 2, top + font.Size, SKTextAlign.Left, font, ink);
        }
    }
}
