using MobileOne.Data;

namespace MobileOne.Segmentation;

/// <summary>
/// The geometric operations of segmentation augmentation with their parameters given: each moves the image and
/// its mask together and returns a new sample. The image is resampled with PIL's bilinear filter, the mask with
/// PIL's nearest neighbour, so that no label is ever blended into another. <see cref="SegmentationAugmentation"/>
/// draws the parameters.
/// </summary>
public static class SegmentationTransforms
{
    /// <summary>Throws unless the mask has the image's size.</summary>
    public static void Check(SegmentationImage sample)
    {
        if ((sample.Mask.Width, sample.Mask.Height) != (sample.Image.Width, sample.Image.Height))
            throw new MobileOneException($"a segmentation sample has a {sample.Mask.Width}x{sample.Mask.Height} mask for a {sample.Image.Width}x{sample.Image.Height} image");
    }

    /// <summary>
    /// Resizes so that the shorter side is <paramref name="shorter"/> pixels and the longer keeps the aspect ratio
    /// (truncated, as torchvision's resize to one size).
    /// </summary>
    public static SegmentationImage ResizeShorter(SegmentationImage sample, int shorter)
    {
        if (shorter < 1) throw new MobileOneException($"cannot resize a shorter side to {shorter} pixels");
        int w = sample.Image.Width, h = sample.Image.Height;
        long width = w <= h ? shorter : (long)shorter * w / h, height = w <= h ? (long)shorter * h / w : shorter;
        ResourceLimits.Current.CheckImage(width, height, $"a {w}x{h} image resized to a shorter side of {shorter}");
        return Resize(sample, (int)width, (int)height);
    }

    /// <summary>Resizes to <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static SegmentationImage Resize(SegmentationImage sample, int width, int height) =>
        new(Resample.Bilinear(sample.Image, width, height), ResizeNearest(sample.Mask, width, height));

    /// <summary>
    /// PIL's nearest-neighbour resize: output pixel x takes source pixel floor((x + 0.5) * in / out), clamped to the image.
    /// </summary>
    public static LabelMask ResizeNearest(LabelMask mask, int width, int height)
    {
        if (width < 1 || height < 1) throw new MobileOneException($"cannot resize a mask to {width}x{height}");
        var columns = new int[width];
        for (int x = 0; x < width; x++) columns[x] = Math.Min(mask.Width - 1, (int)((x + 0.5) * mask.Width / width));
        var labels = new byte[checked(width * height)];
        for (int y = 0; y < height; y++)
        {
            int row = Math.Min(mask.Height - 1, (int)((y + 0.5) * mask.Height / height)) * mask.Width;
            for (int x = 0; x < width; x++) labels[y * width + x] = mask.Labels[row + columns[x]];
        }
        return new LabelMask(width, height, labels);
    }

    /// <summary>Mirrors image and mask left-right.</summary>
    public static SegmentationImage FlipHorizontal(SegmentationImage sample)
    {
        var m = sample.Mask;
        var labels = new byte[m.Labels.Length];
        for (int y = 0; y < m.Height; y++)
            for (int x = 0; x < m.Width; x++)
                labels[y * m.Width + m.Width - 1 - x] = m.Labels[y * m.Width + x];
        return new SegmentationImage(ImageOps.FlipHorizontal(sample.Image), m with { Labels = labels });
    }

    /// <summary>
    /// Pads on the right and at the bottom to at least <paramref name="width"/> x <paramref name="height"/>: the image
    /// with black (0), the mask with <see cref="SegmentationData.Ignore"/>, as torchvision's reference pads a crop.
    /// </summary>
    public static SegmentationImage PadTo(SegmentationImage sample, int width, int height)
    {
        int w = sample.Image.Width, h = sample.Image.Height, pw = Math.Max(w, width), ph = Math.Max(h, height);
        if (pw == w && ph == h) return sample;
        var pixels = new byte[checked(pw * ph * 3)];
        var labels = new byte[pw * ph];
        Array.Fill(labels, SegmentationData.Ignore);
        for (int y = 0; y < h; y++)
        {
            Array.Copy(sample.Image.Pixels, y * w * 3, pixels, y * pw * 3, w * 3);
            Array.Copy(sample.Mask.Labels, y * w, labels, y * pw, w);
        }
        return new SegmentationImage(new RgbImage(pw, ph, pixels), new LabelMask(pw, ph, labels));
    }

    /// <summary>Crops [left, left + width) x [top, top + height) of image and mask.</summary>
    public static SegmentationImage Crop(SegmentationImage sample, int left, int top, int width, int height)
    {
        var m = sample.Mask;
        if (left < 0 || top < 0 || width < 1 || height < 1 || left > m.Width - width || top > m.Height - height)
            throw new MobileOneException($"a {width}x{height} crop at ({left}, {top}) lies outside a {m.Width}x{m.Height} image");
        var labels = new byte[width * height];
        for (int y = 0; y < height; y++) Array.Copy(m.Labels, (top + y) * m.Width + left, labels, y * width, width);
        return new SegmentationImage(ImageOps.Crop(sample.Image, left, top, width, height), new LabelMask(width, height, labels));
    }
}
