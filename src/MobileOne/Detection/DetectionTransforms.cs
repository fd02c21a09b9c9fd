using MobileOne.Data;

namespace MobileOne.Detection;

/// <summary>
/// The geometric operations of detection augmentation with their parameters given: each moves the image and
/// its boxes together and returns a new sample, leaving its argument untouched. <see cref="DetectionAugmentation"/>
/// draws the parameters.
/// </summary>
public static class DetectionTransforms
{
    /// <summary>Throws unless the sample holds four coordinates per label.</summary>
    public static void Check(DetectionSample sample)
    {
        if (sample.Boxes.Length != 4L * sample.Labels.Length)
            throw new MobileOneException($"a detection sample has {sample.Boxes.Length:N0} box coordinates for {sample.Labels.Length:N0} labels (4 per label expected)");
    }

    /// <summary>Mirrors the image left-right; a box (x1, x2) becomes (W - x2, W - x1).</summary>
    public static DetectionSample FlipHorizontal(DetectionSample sample)
    {
        int width = sample.Image.Width;
        var boxes = (float[])sample.Boxes.Clone();
        for (int i = 0; i < boxes.Length; i += 4)
            (boxes[i], boxes[i + 2]) = (width - sample.Boxes[i + 2], width - sample.Boxes[i]);
        return new DetectionSample(ImageOps.FlipHorizontal(sample.Image), boxes, (int[])sample.Labels.Clone());
    }

    /// <summary>
    /// Places the image at (<paramref name="left"/>, <paramref name="top"/>) of a canvas of
    /// <paramref name="canvasWidth"/> x <paramref name="canvasHeight"/> filled with <paramref name="fill"/>
    /// (SSD's zoom-out): the boxes move with the image and keep their size.
    /// </summary>
    public static DetectionSample Expand(DetectionSample sample, int canvasWidth, int canvasHeight, int left, int top, Rgb fill)
    {
        var img = sample.Image;
        if (left < 0 || top < 0 || left > canvasWidth - img.Width || top > canvasHeight - img.Height)
            throw new ArgumentOutOfRangeException(nameof(left), $"a {img.Width}x{img.Height} image at ({left}, {top}) does not fit a {canvasWidth}x{canvasHeight} canvas");
        var pixels = new byte[checked(canvasWidth * canvasHeight * 3)];
        for (int i = 0; i < pixels.Length; i += 3) (pixels[i], pixels[i + 1], pixels[i + 2]) = (fill.R, fill.G, fill.B);
        for (int y = 0; y < img.Height; y++)
            Array.Copy(img.Pixels, y * img.Width * 3, pixels, ((top + y) * canvasWidth + left) * 3, img.Width * 3);
        var boxes = Shift(sample.Boxes, left, top);
        return new DetectionSample(new RgbImage(canvasWidth, canvasHeight, pixels), boxes, (int[])sample.Labels.Clone());
    }

    /// <summary>
    /// Crops [left, left + width) x [top, top + height), as SSD's IoU crop does: only the boxes whose centres lie
    /// strictly inside the crop are kept (with their labels), shifted and clipped to it.
    /// </summary>
    public static DetectionSample Crop(DetectionSample sample, int left, int top, int width, int height)
    {
        var inside = CentredIn(sample.Boxes, left, top, left + width, top + height);
        var boxes = Shift(Select(sample.Boxes, inside), -left, -top);
        for (int i = 0; i < boxes.Length; i += 4)
        {
            boxes[i] = Math.Clamp(boxes[i], 0, width);
            boxes[i + 1] = Math.Clamp(boxes[i + 1], 0, height);
            boxes[i + 2] = Math.Clamp(boxes[i + 2], 0, width);
            boxes[i + 3] = Math.Clamp(boxes[i + 3], 0, height);
        }
        var labels = inside.Select(i => sample.Labels[i]).ToArray();
        return new DetectionSample(ImageOps.Crop(sample.Image, left, top, width, height), boxes, labels);
    }

    /// <summary>
    /// Resizes the image (PIL's bilinear filter) and scales the boxes by the same factors, clipped to the new
    /// image (an edge on the old image's border lands exactly on the new one's).
    /// </summary>
    public static DetectionSample Resize(DetectionSample sample, int width, int height)
    {
        int w = sample.Image.Width, h = sample.Image.Height;
        var boxes = new float[sample.Boxes.Length];
        for (int i = 0; i < boxes.Length; i += 2)
        {
            boxes[i] = (float)Math.Clamp((double)sample.Boxes[i] * width / w, 0, width);
            boxes[i + 1] = (float)Math.Clamp((double)sample.Boxes[i + 1] * height / h, 0, height);
        }
        return new DetectionSample(Resample.Bilinear(sample.Image, width, height), boxes, (int[])sample.Labels.Clone());
    }

    /// <summary>The sample without the boxes (and their labels) narrower or shorter than <paramref name="minSide"/> pixels.</summary>
    public static DetectionSample DropDegenerate(DetectionSample sample, float minSide)
    {
        var b = sample.Boxes;
        var kept = Enumerable.Range(0, sample.Labels.Length)
            .Where(i => b[4 * i + 2] - b[4 * i] >= minSide && b[4 * i + 3] - b[4 * i + 1] >= minSide).ToArray();
        return sample with { Boxes = Select(b, kept), Labels = kept.Select(i => sample.Labels[i]).ToArray() };
    }

    /// <summary>The indices of the boxes whose centres lie strictly inside (left, top)-(right, bottom).</summary>
    public static int[] CentredIn(float[] boxes, float left, float top, float right, float bottom)
    {
        var result = new List<int>();
        for (int i = 0; i < boxes.Length / 4; i++)
        {
            float cx = 0.5f * (boxes[4 * i] + boxes[4 * i + 2]), cy = 0.5f * (boxes[4 * i + 1] + boxes[4 * i + 3]);
            if (left < cx && cx < right && top < cy && cy < bottom) result.Add(i);
        }
        return result.ToArray();
    }

    /// <summary>Intersection over union of box <paramref name="i"/> of <paramref name="boxes"/> and (x1, y1)-(x2, y2); 0 when both are empty.</summary>
    public static double IoU(float[] boxes, int i, double x1, double y1, double x2, double y2)
    {
        double ax1 = boxes[4 * i], ay1 = boxes[4 * i + 1], ax2 = boxes[4 * i + 2], ay2 = boxes[4 * i + 3];
        double iw = Math.Max(0, Math.Min(ax2, x2) - Math.Max(ax1, x1)), ih = Math.Max(0, Math.Min(ay2, y2) - Math.Max(ay1, y1));
        double inter = iw * ih, union = (ax2 - ax1) * (ay2 - ay1) + (x2 - x1) * (y2 - y1) - inter;
        return union > 0 ? inter / union : 0;
    }

    private static float[] Select(float[] boxes, int[] indices)
    {
        var result = new float[indices.Length * 4];
        for (int k = 0; k < indices.Length; k++) Array.Copy(boxes, indices[k] * 4, result, k * 4, 4);
        return result;
    }

    private static float[] Shift(float[] boxes, float dx, float dy)
    {
        var result = new float[boxes.Length];
        for (int i = 0; i < boxes.Length; i += 2)
        {
            result[i] = boxes[i] + dx;
            result[i + 1] = boxes[i + 1] + dy;
        }
        return result;
    }
}
