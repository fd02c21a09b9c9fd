using MobileOne.Data;
using MobileOne.IO;

namespace MobileOne.Segmentation;

/// <summary>How a data set's mask values become labels.</summary>
public enum MaskLabels
{
    /// <summary>Pascal VOC's convention, and the mosaic's: the value is the class, 255 is ignored.</summary>
    Voc,

    /// <summary>ADE20K's: 0 ("other") is ignored and every other value shifts down by one (mmsegmentation's <c>reduce_zero_label</c>).</summary>
    Ade20k,
}

/// <summary>The names of <see cref="MaskLabels"/> as options and run configurations spell them.</summary>
public static class MaskLabelNames
{
    /// <summary>The conventions by name: <c>voc</c>, <c>ade20k</c>.</summary>
    public static IReadOnlyDictionary<string, MaskLabels> All { get; } = new Dictionary<string, MaskLabels> { ["voc"] = MaskLabels.Voc, ["ade20k"] = MaskLabels.Ade20k };

    /// <summary>The convention called <paramref name="name"/>; a clear error listing them otherwise.</summary>
    public static MaskLabels Parse(string name) => All.TryGetValue(name, out var labels) ? labels
        : throw new MobileOneException($"unknown mask label convention '{name}'; known: {string.Join(", ", All.Keys)}");
}

/// <summary>One image of a segmentation data set and its mask file.</summary>
public sealed record SegmentationSample(string Stem, string ImagePath, string MaskPath);

/// <summary>A decoded image and its labels, the same size.</summary>
public sealed record SegmentationImage(RgbImage Image, LabelMask Mask);

/// <summary>
/// A split of a segmentation data set in Pascal VOC's format: images, masks of the same name (<c>.png</c>; palette or
/// 8-bit grey, 255 ignored) and a split list of file stems, one a line. Three layouts are recognised:
/// VOC's own (<c>JPEGImages/</c>, <c>SegmentationClass/</c>, <c>ImageSets/Segmentation/SPLIT.txt</c>), the
/// mosaic's (<c>images/SPLIT/</c>, <c>masks/SPLIT/</c>, <c>SPLIT.txt</c>) and a flat one (<c>images/</c>, <c>masks/</c>, <c>SPLIT.txt</c>).
/// Every file is checked to exist when the split is opened; sizes and labels when an image is loaded.
/// </summary>
public sealed class SegmentationData
{
    /// <summary>The most images a split list may name.</summary>
    public const int MaxImages = 1_000_000;

    /// <summary>The largest split list read: 64 MiB.</summary>
    public const int MaxListBytes = 64 << 20;

    /// <summary>The label of pixels left out of training and scoring.</summary>
    public const byte Ignore = 255;

    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    private SegmentationData(string root, string split, int numClasses, MaskLabels labels, IReadOnlyList<SegmentationSample> samples)
    {
        Root = root;
        Split = split;
        NumClasses = numClasses;
        Labels = labels;
        Samples = samples;
    }

    /// <summary>The data set folder.</summary>
    public string Root { get; }

    /// <summary>The split's name.</summary>
    public string Split { get; }

    /// <summary>Classes; a label is below this or <see cref="Ignore"/>.</summary>
    public int NumClasses { get; }

    /// <summary>How mask values become labels.</summary>
    public MaskLabels Labels { get; }

    /// <summary>The split's images in list order.</summary>
    public IReadOnlyList<SegmentationSample> Samples { get; }

    /// <summary>
    /// Opens split <paramref name="split"/> of the data set in <paramref name="root"/> with <paramref name="numClasses"/>
    /// classes (after <paramref name="labels"/>' mapping); a clear error naming the file when the layout, the list, an
    /// image or a mask is missing or the list is malformed.
    /// </summary>
    public static SegmentationData Open(string root, string split, int numClasses, MaskLabels labels = MaskLabels.Voc)
    {
        if (numClasses is < 1 or > Ignore) throw new MobileOneException($"a segmentation data set has 1 to 255 classes, found {numClasses}");
        if (!IsStem(split)) throw new MobileOneException($"'{split}' is not a split name");
        var (images, masks, list) = Layout(root, split);
        var stems = File.Exists(list) ? ReadList(list) : throw new MobileOneException($"{list}: no split list (one file stem a line)");
        var samples = stems.Select(stem => new SegmentationSample(stem, ImageOf(images, stem, list), MaskOf(masks, stem))).ToList();
        return new SegmentationData(root, split, numClasses, labels, samples);
    }

    // VOC's folders, the mosaic's per-split folders, or flat images/ and masks/.
    private static (string Images, string Masks, string List) Layout(string root, string split)
    {
        if (!Directory.Exists(root)) throw new MobileOneException($"{root}: no such data set folder");
        if (Directory.Exists(Path.Combine(root, "JPEGImages")))
            return (Path.Combine(root, "JPEGImages"), Path.Combine(root, "SegmentationClass"), Path.Combine(root, "ImageSets", "Segmentation", split + ".txt"));
        var images = Path.Combine(root, "images");
        if (!Directory.Exists(images)) throw new MobileOneException($"{root}: neither JPEGImages/ (Pascal VOC) nor images/ found");
        var list = Path.Combine(root, split + ".txt");
        return Directory.Exists(Path.Combine(images, split))
            ? (Path.Combine(images, split), Path.Combine(root, "masks", split), list)
            : (images, Path.Combine(root, "masks"), list);
    }

    private static List<string> ReadList(string path)
    {
        var stems = new List<string>();
        int line = 0;
        foreach (var raw in BoundedRead.SmallText(path, MaxListBytes).Split('\n'))
        {
            line++;
            var stem = raw.Trim();
            if (stem.Length == 0) continue;
            // VOC's lists of a class carry a second column; the segmentation lists have one.
            if (!IsStem(stem)) throw new MobileOneException($"{path}: line {line} is not a file stem ('{Truncate(stem)}')");
            if (stems.Count == MaxImages) throw new MobileOneException($"{path}: more than {MaxImages:N0} images");
            stems.Add(stem);
        }
        if (stems.Count == 0) throw new MobileOneException($"{path}: the split list names no image");
        return stems;
    }

    // A name within its folder: no separator, no parent, no whitespace inside.
    private static bool IsStem(string s) =>
        s.Length is > 0 and <= 255 && s != "." && s != ".." && s.IndexOfAny(['/', '\\', ' ', '\t', '\0']) < 0;

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";

    private static string ImageOf(string dir, string stem, string list) =>
        ImageExtensions.Select(e => Path.Combine(dir, stem + e)).FirstOrDefault(File.Exists)
        ?? throw new MobileOneException($"{list}: no image for '{stem}' in {dir} (.jpg, .jpeg or .png)");

    private static string MaskOf(string dir, string stem)
    {
        var path = Path.Combine(dir, stem + ".png");
        return File.Exists(path) ? path : throw new MobileOneException($"{path}: no mask for the image '{stem}'");
    }

    /// <summary>
    /// Image <paramref name="index"/> and its labels; a clear error naming the mask when its size differs from the
    /// image's or a label is neither a class nor <see cref="Ignore"/>.
    /// </summary>
    public SegmentationImage Load(int index)
    {
        var sample = Samples[index];
        var image = ImageDecoder.Decode(sample.ImagePath);
        var mask = MaskPng.Read(sample.MaskPath);
        if ((mask.Width, mask.Height) != (image.Width, image.Height))
            throw new MobileOneException($"{sample.MaskPath}: a mask of {mask.Width}x{mask.Height} pixels for an image of {image.Width}x{image.Height} ({sample.ImagePath})");
        if (Labels == MaskLabels.Ade20k) ReduceZeroLabel(mask.Labels);
        CheckLabels(mask.Labels, NumClasses, sample.MaskPath);
        return new SegmentationImage(image, mask);
    }

    /// <summary>ADE20K's mapping in place: 0 becomes <see cref="Ignore"/>, every other value one less (255 stays ignored).</summary>
    public static void ReduceZeroLabel(Span<byte> labels)
    {
        foreach (ref byte v in labels) v = v is 0 or Ignore ? Ignore : (byte)(v - 1);
    }

    /// <summary>Refuses a label that is neither below <paramref name="numClasses"/> nor <see cref="Ignore"/>, naming <paramref name="source"/>.</summary>
    public static void CheckLabels(ReadOnlySpan<byte> labels, int numClasses, string source)
    {
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= numClasses && labels[i] != Ignore)
                throw new MobileOneException($"{source}: label {labels[i]} at pixel {i} is not one of the {numClasses} classes nor the ignore label {Ignore}");
    }
}
