using MobileOne.Data;

namespace MobileOne.Segmentation;

/// <summary>
/// The training augmentation of torchvision's segmentation reference (references/segmentation, the training
/// preset): resize the shorter side to a random length between <see cref="MinScale"/> and <see cref="MaxScale"/>
/// times the base size, flip horizontally with <see cref="FlipProbability"/>, pad to the crop (image black, mask
/// ignored) and take a random square crop; no photometric change. The base size here is the crop size. All
/// randomness comes from the <see cref="Random"/> passed in, so a sample's result depends only on its seed.
/// </summary>
public sealed record SegmentationAugmentation
{
    /// <summary>The reference's preset: scales 0.5 to 2, flips half the time.</summary>
    public static SegmentationAugmentation Reference { get; } = new();

    /// <summary>Flips and crops only, the image at its own scale: the lightest training augmentation, for short runs.</summary>
    public static SegmentationAugmentation FlipOnly { get; } = new() { MinScale = 0, MaxScale = 0 };

    /// <summary>The presets by name: <c>reference</c>, <c>flip</c>.</summary>
    public static IReadOnlyDictionary<string, SegmentationAugmentation> Presets { get; } = new Dictionary<string, SegmentationAugmentation>
    {
        ["reference"] = Reference, ["flip"] = FlipOnly,
    };

    /// <summary>The preset called <paramref name="name"/>; a clear error listing them otherwise.</summary>
    public static SegmentationAugmentation Preset(string name) => Presets.TryGetValue(name, out var preset) ? preset
        : throw new MobileOneException($"unknown segmentation augmentation '{name}'; known: {string.Join(", ", Presets.Keys)}");

    /// <summary>The smallest shorter side, in crop sides; 0 (with <see cref="MaxScale"/> 0) leaves the image at its size.</summary>
    public double MinScale { get; init; } = 0.5;

    /// <summary>The largest shorter side, in crop sides.</summary>
    public double MaxScale { get; init; } = 2.0;

    /// <summary>Probability of a horizontal flip.</summary>
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>
    /// The augmented sample, <paramref name="size"/> pixels square, for (<paramref name="seed"/>, <paramref name="epoch"/>,
    /// <paramref name="index"/>), seeded as <see cref="DataLoader"/> seeds classification samples: the result depends on
    /// these three alone, never on threads.
    /// </summary>
    public SegmentationImage Apply(SegmentationImage sample, int seed, int epoch, int index, int size) =>
        Apply(sample, new Random(DataLoader.Mix(seed, epoch, index)), size);

    /// <summary>The augmented sample, <paramref name="size"/> pixels square, drawing from <paramref name="rng"/>.</summary>
    public SegmentationImage Apply(SegmentationImage sample, Random rng, int size)
    {
        SegmentationTransforms.Check(sample);
        if (size < 1) throw new MobileOneException($"a crop must be at least 1 pixel, found {size}");
        if (MinScale < 0 || MaxScale < MinScale) throw new MobileOneException($"resize scales must satisfy 0 <= min <= max, found {MinScale} and {MaxScale}");
        if (MaxScale > 0)
        {
            // random.randint(min, max) of the reference: both ends included.
            int lo = Math.Max(1, (int)(MinScale * size)), hi = Math.Max(lo, (int)(MaxScale * size));
            sample = SegmentationTransforms.ResizeShorter(sample, rng.Next(lo, hi + 1));
        }
        if (rng.NextDouble() < FlipProbability) sample = SegmentationTransforms.FlipHorizontal(sample);
        sample = SegmentationTransforms.PadTo(sample, size, size);
        int top = rng.Next(sample.Image.Height - size + 1), left = rng.Next(sample.Image.Width - size + 1);
        return SegmentationTransforms.Crop(sample, left, top, size, size);
    }
}
