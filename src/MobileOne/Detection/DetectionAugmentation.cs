using MobileOne.Data;

namespace MobileOne.Detection;

/// <summary>
/// The training augmentation of torchvision's SSD reference (references/detection): photometric distortion,
/// zoom-out onto a canvas of the mean colour, SSD's random IoU crop and a horizontal flip, then a resize to
/// the model's square input that scales the boxes too. Boxes narrower or shorter than
/// <see cref="MinBoxSide"/> at the end are dropped with their labels. All randomness comes from the
/// <see cref="Random"/> passed in, so a sample's result depends only on its seed. The defaults are the
/// reference's "ssd" preset; <see cref="SsdLite"/> is its "ssdlite" one.
/// </summary>
public sealed record DetectionAugmentation
{
    /// <summary>The reference's "ssd" preset: every step.</summary>
    public static DetectionAugmentation Ssd { get; } = new();

    /// <summary>The reference's "ssdlite" preset: IoU crop and flip only.</summary>
    public static DetectionAugmentation SsdLite { get; } = new() { PhotometricDistort = false, ZoomOut = false };

    /// <summary>Flips only: the lightest training augmentation, for short runs.</summary>
    public static DetectionAugmentation FlipOnly { get; } = new() { PhotometricDistort = false, ZoomOut = false, IoUCrop = false };

    /// <summary>The presets by name: <c>ssd</c>, <c>ssdlite</c>, <c>flip</c>.</summary>
    public static IReadOnlyDictionary<string, DetectionAugmentation> Presets { get; } = new Dictionary<string, DetectionAugmentation>
    {
        ["ssd"] = Ssd, ["ssdlite"] = SsdLite, ["flip"] = FlipOnly,
    };

    /// <summary>The preset called <paramref name="name"/>; a clear error listing them otherwise.</summary>
    public static DetectionAugmentation Preset(string name) => Presets.TryGetValue(name, out var preset) ? preset
        : throw new MobileOneException($"unknown detection augmentation '{name}'; known: {string.Join(", ", Presets.Keys)}");

    /// <summary>The minimum IoU options of SSD's crop; 1 (or more) means "no crop".</summary>
    public static readonly IReadOnlyList<double> IoUCropOptions = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0];

    /// <summary>Whether to distort brightness, contrast, saturation, hue and channel order.</summary>
    public bool PhotometricDistort { get; init; } = true;

    /// <summary>Whether to zoom out (place the image on a larger canvas) half the time.</summary>
    public bool ZoomOut { get; init; } = true;

    /// <summary>The zoom-out canvas colour: the reference's mean, ImageNet's in 8 bits.</summary>
    public Rgb ZoomOutFill { get; init; } = new(123, 117, 104);

    /// <summary>The largest zoom-out canvas side, in image sides (the reference: 4).</summary>
    public double ZoomOutMaxSide { get; init; } = 4.0;

    /// <summary>Whether to apply SSD's random IoU crop.</summary>
    public bool IoUCrop { get; init; } = true;

    /// <summary>Probability of a horizontal flip.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>
    /// Boxes narrower or shorter than this at the output size, in pixels, are dropped: after a zoom-out and
    /// the resize a small object can shrink below a pixel, where no anchor can be matched to it meaningfully.
    /// </summary>
    public float MinBoxSide { get; init; } = 1f;

    /// <summary>
    /// The augmented sample at <paramref name="size"/> x <paramref name="size"/> for (<paramref name="seed"/>,
    /// <paramref name="epoch"/>, <paramref name="index"/>), seeded as <see cref="DataLoader"/> seeds classification
    /// samples: the result depends on these three alone, never on threads.
    /// </summary>
    public DetectionSample Apply(DetectionSample sample, int seed, int epoch, int index, int size) =>
        Apply(sample, new Random(DataLoader.Mix(seed, epoch, index)), size);

    /// <summary>The augmented sample at <paramref name="size"/> x <paramref name="size"/>, drawing from <paramref name="rng"/>.</summary>
    public DetectionSample Apply(DetectionSample sample, Random rng, int size)
    {
        DetectionTransforms.Check(sample);
        if (size < 1) throw new MobileOneException($"an input size must be at least 1 pixel, found {size}");
        if (PhotometricDistort) sample = sample with { Image = RandomPhotometricDistort(sample.Image, rng) };
        if (ZoomOut) sample = RandomZoomOut(sample, rng, ZoomOutFill, ZoomOutMaxSide);
        if (IoUCrop) sample = RandomIoUCrop(sample, rng);
        if (rng.NextDouble() < FlipProbability) sample = DetectionTransforms.FlipHorizontal(sample);
        return DetectionTransforms.DropDegenerate(DetectionTransforms.Resize(sample, size, size), MinBoxSide);
    }

    /// <summary>
    /// torchvision's RandomPhotometricDistort: brightness (factor 0.875-1.125), contrast (0.5-1.5) either first or
    /// last, saturation (0.5-1.5), hue (-0.05 to 0.05 turns) and a random channel order, each with probability 0.5.
    /// </summary>
    public static RgbImage RandomPhotometricDistort(RgbImage image, Random rng)
    {
        var r = new double[7];
        for (int i = 0; i < r.Length; i++) r[i] = rng.NextDouble();
        bool contrastFirst = r[1] < 0.5;
        if (r[0] < 0.5) image = ImageOps.Brightness(image, Uniform(rng, 0.875, 1.125));
        if (contrastFirst && r[2] < 0.5) image = ImageOps.Contrast(image, Uniform(rng, 0.5, 1.5));
        if (r[3] < 0.5) image = ImageOps.Color(image, Uniform(rng, 0.5, 1.5));
        if (r[4] < 0.5) image = ImageOps.Hue(image, Uniform(rng, -0.05, 0.05));
        if (!contrastFirst && r[5] < 0.5) image = ImageOps.Contrast(image, Uniform(rng, 0.5, 1.5));
        if (r[6] < 0.5)
        {
            int[] order = [0, 1, 2];
            rng.Shuffle(order);
            image = ImageOps.PermuteChannels(image, order);
        }
        return image;
    }

    /// <summary>
    /// torchvision's RandomZoomOut with probability 0.5: a canvas 1 to <paramref name="maxSide"/> times the image's
    /// sides, filled with <paramref name="fill"/>, with the image at a random place on it.
    /// </summary>
    public static DetectionSample RandomZoomOut(DetectionSample sample, Random rng, Rgb fill, double maxSide = 4.0)
    {
        if (maxSide < 1) throw new MobileOneException($"a zoom-out canvas must be at least the image's size, found {maxSide} times it");
        if (rng.NextDouble() >= 0.5) return sample;
        int w = sample.Image.Width, h = sample.Image.Height;
        double side = Uniform(rng, 1.0, maxSide);
        int canvasW = (int)(w * side), canvasH = (int)(h * side);
        int left = (int)((canvasW - w) * rng.NextDouble()), top = (int)((canvasH - h) * rng.NextDouble());
        return DetectionTransforms.Expand(sample, canvasW, canvasH, left, top, fill);
    }

    /// <summary>
    /// SSD's random IoU crop as torchvision implements it: draw a minimum IoU from <see cref="IoUCropOptions"/>
    /// (1: leave the sample as it is); then up to 40 times draw a crop of 0.3-1 of each side with an aspect ratio
    /// of 0.5-2 at a random place, and take the first that holds the centre of some box, one of which overlaps
    /// the crop with at least that IoU; after 40 failures draw a new minimum. A sample without boxes is left as
    /// it is, which is where the reference's loop ends for it too.
    /// </summary>
    public static DetectionSample RandomIoUCrop(DetectionSample sample, Random rng)
    {
        if (sample.Labels.Length == 0) return sample;
        int w = sample.Image.Width, h = sample.Image.Height;
        // Ends with probability 1: the "no crop" option comes up once in seven draws.
        while (true)
        {
            double minIoU = IoUCropOptions[rng.Next(IoUCropOptions.Count)];
            if (minIoU >= 1.0) return sample;
            for (int trial = 0; trial < 40; trial++)
                if (TryCrop(sample, rng, w, h, minIoU) is { } crop) return crop;
        }
    }

    private static DetectionSample? TryCrop(DetectionSample sample, Random rng, int w, int h, double minIoU)
    {
        int cropW = (int)(w * Uniform(rng, 0.3, 1.0)), cropH = (int)(h * Uniform(rng, 0.3, 1.0));
        if (cropW == 0 || cropH == 0) return null;
        double aspect = (double)cropW / cropH;
        if (aspect < 0.5 || aspect > 2.0) return null;
        int left = (int)((w - cropW) * rng.NextDouble()), top = (int)((h - cropH) * rng.NextDouble());
        var inside = DetectionTransforms.CentredIn(sample.Boxes, left, top, left + cropW, top + cropH);
        if (inside.Length == 0) return null;
        if (inside.Max(i => DetectionTransforms.IoU(sample.Boxes, i, left, top, left + cropW, top + cropH)) < minIoU) return null;
        return DetectionTransforms.Crop(sample, left, top, cropW, cropH);
    }

    private static double Uniform(Random rng, double lo, double hi) => lo + (hi - lo) * rng.NextDouble();
}
