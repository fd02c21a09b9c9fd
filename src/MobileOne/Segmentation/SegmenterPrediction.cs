using System.Text.Json;
using MobileOne.Data;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>What <c>segment predict</c> made of one image: its mask (a class per pixel) and the share of each class found.</summary>
/// <param name="Image">The image file.</param>
/// <param name="Mask">The predicted classes, at the image's size.</param>
/// <param name="ClassNames">The names of the classes by index, or null.</param>
public sealed record ImageSegmentation(string Image, LabelMask Mask, IReadOnlyList<string>? ClassNames)
{
    /// <summary>JSON: the image, its size, and per class found its index, name (when known), pixels and share of the image.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["image"] = Image, ["width"] = Mask.Width, ["height"] = Mask.Height,
        ["classes"] = Mask.Labels.GroupBy(l => l).OrderBy(g => g.Key).Select(g => new Dictionary<string, object?>
        {
            ["class"] = (int)g.Key, ["name"] = ClassNames is { } n && g.Key < n.Count ? n[g.Key] : null,
            ["pixels"] = g.Count(), ["fraction"] = Math.Round((double)g.Count() / Mask.Labels.Length, 5),
        }).ToArray(),
    }, new JsonSerializerOptions { WriteIndented = true });
}

/// <summary>
/// Runs a segmenter on image files at their own resolution (normalised as it was trained, ImageNet's mean and
/// deviation), the class of each pixel the argmax of its logits; and draws the result over the image.
/// </summary>
public static class SegmenterPrediction
{
    /// <summary>The classes of every pixel of <paramref name="image"/>.</summary>
    public static LabelMask Predict(LoadedSegmenter segmenter, RgbImage image)
    {
        ResourceLimits.Current.CheckInput(image.Width, image.Height, "the image to segment");
        var input = new float[checked(3 * image.Width * image.Height)];
        DeepLabV3.Normalization.Normalize(image, 0, 0, image.Width, image.Height, input);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = segmenter.Model.call(tensor(input, [1, 3, image.Height, image.Width]));
        return new LabelMask(image.Width, image.Height, SegmentationEvaluator.Classes(logits));
    }

    /// <summary>
    /// The segmentation of the image at <paramref name="path"/>, the mask as an 8-bit grey PNG (the class index per
    /// pixel, as <c>segment score</c> reads it) and the overlay (<see cref="Overlay"/>) as a PNG, from one decoding.
    /// </summary>
    public static (ImageSegmentation Found, byte[] MaskPng, byte[] OverlayPng) PredictAndDraw(LoadedSegmenter segmenter, string path, IReadOnlyList<string>? classNames = null)
    {
        var image = ImageDecoder.Decode(path);
        var mask = Predict(segmenter, image);
        return (new ImageSegmentation(path, mask, classNames), ImageEncoder.GrayPng(mask.Labels, mask.Width, mask.Height), ImageEncoder.RgbPng(Overlay(image, mask)));
    }

    /// <summary>The share of the class colour in an overlay pixel.</summary>
    public const double OverlayOpacity = 0.5;

    /// <summary>
    /// <paramref name="image"/> with every pixel of a class other than 0 (the background) blended with the class's colour
    /// (<see cref="ClassColour"/>) at <see cref="OverlayOpacity"/>; ignored pixels (255) white.
    /// </summary>
    public static RgbImage Overlay(RgbImage image, LabelMask mask)
    {
        if ((mask.Width, mask.Height) != (image.Width, image.Height))
            throw new MobileOneException($"a {mask.Width}x{mask.Height} mask cannot overlay a {image.Width}x{image.Height} image");
        var pixels = (byte[])image.Pixels.Clone();
        for (int i = 0; i < mask.Labels.Length; i++)
        {
            int label = mask.Labels[i];
            if (label == 0) continue;
            var c = label == SegmentationData.Ignore ? new Rgb(255, 255, 255) : ClassColour(label);
            pixels[3 * i] = Blend(pixels[3 * i], c.R);
            pixels[3 * i + 1] = Blend(pixels[3 * i + 1], c.G);
            pixels[3 * i + 2] = Blend(pixels[3 * i + 2], c.B);
        }
        return image with { Pixels = pixels };
    }

    private static byte Blend(byte under, byte colour) => (byte)Math.Round(under * (1 - OverlayOpacity) + colour * OverlayOpacity);

    /// <summary>
    /// The colour of class <paramref name="label"/> in Pascal VOC's palette: the label's bits, three at a time, spread
    /// from the top bit down over red, green and blue (class 1 dark red, 2 dark green, 3 dark yellow, ...).
    /// </summary>
    public static Rgb ClassColour(int label)
    {
        int r = 0, g = 0, b = 0;
        for (int shift = 7; shift >= 0 && label > 0; shift--, label >>= 3)
        {
            r |= (label & 1) << shift;
            g |= ((label >> 1) & 1) << shift;
            b |= ((label >> 2) & 1) << shift;
        }
        return new Rgb((byte)r, (byte)g, (byte)b);
    }
}
