namespace MobileOne.Data.Mosaic;

/// <summary>What a mosaic data set is written for.</summary>
public enum MosaicTask
{
    /// <summary>Object detection: images plus COCO instance annotations.</summary>
    Detect,

    /// <summary>Semantic segmentation: images plus VOC-style class masks, split lists and class names.</summary>
    Segment,
}

/// <summary>
/// The settings of a mosaic data set: the task, the images per split, their side, the seed, and the items per
/// image and their sizes (the longer side of an item's pixels, drawn log-uniformly).
/// </summary>
public sealed record MosaicOptions
{
    /// <summary>The smallest image side allowed.</summary>
    public const int MinSize = 32;

    /// <summary>The largest image side allowed.</summary>
    public const int MaxSize = 2048;

    /// <summary>The most images per split.</summary>
    public const int MaxImages = 1_000_000;

    /// <summary>The most items in one image (owners are numbered in a byte).</summary>
    public const int MaxItemsLimit = 32;

    /// <summary>What to write.</summary>
    public MosaicTask Task { get; init; } = MosaicTask.Detect;

    /// <summary>Training images, with items from Fashion-MNIST's training split.</summary>
    public int TrainImages { get; init; } = 2000;

    /// <summary>Validation images, with items from Fashion-MNIST's test split.</summary>
    public int ValImages { get; init; } = 500;

    /// <summary>The side of the square images, in pixels.</summary>
    public int Size { get; init; } = 320;

    /// <summary>The seed every image is drawn from.</summary>
    public int Seed { get; init; }

    /// <summary>The fewest items placed in an image.</summary>
    public int MinItems { get; init; } = 1;

    /// <summary>The most items tried in an image (fewer remain when one finds no place that keeps the others visible).</summary>
    public int MaxItems { get; init; } = 6;

    /// <summary>The smallest longer side of an item, in pixels.</summary>
    public int MinItemSide { get; init; } = 12;

    /// <summary>The largest longer side of an item, in pixels; at most 5/8 of <see cref="Size"/> is used.</summary>
    public int MaxItemSide { get; init; } = 200;

    /// <summary>The largest longer side of an item in this image size.</summary>
    public int EffectiveMaxItemSide => Math.Max(MinItemSide, Math.Min(MaxItemSide, Size * 5 / 8));

    /// <summary>Throws a <see cref="MobileOneException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Require(TrainImages, 0, MaxImages, "training images");
        Require(ValImages, 0, MaxImages, "validation images");
        Require(Size, MinSize, MaxSize, "the image size");
        Require(MinItems, 1, MaxItemsLimit, "the fewest items per image");
        Require(MaxItems, MinItems, MaxItemsLimit, "the most items per image");
        Require(MinItemSide, 4, Size / 2, "the smallest item side");
        Require(MaxItemSide, MinItemSide, MaxSize, "the largest item side");
    }

    private static void Require(int value, int min, int max, string what)
    {
        if (value < min || value > max) throw new MobileOneException($"{what} must be from {min:N0} to {max:N0}, found {value:N0}");
    }
}
