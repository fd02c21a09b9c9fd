namespace MobileOne.Data;

/// <summary>A labelled image collection, indexed; images are decoded on demand.</summary>
public interface IImageDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Class names by label.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Label of sample <paramref name="index"/>, without decoding it.</summary>
    int Label(int index);

    /// <summary>The image of sample <paramref name="index"/>; throws <see cref="MobileOneException"/> naming the file when it cannot be read.</summary>
    RgbImage Image(int index);

    /// <summary>Where the data come from (for messages and reports).</summary>
    string Description { get; }
}
