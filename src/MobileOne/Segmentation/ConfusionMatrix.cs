using System.Text.Json;

namespace MobileOne.Segmentation;

/// <summary>
/// The confusion matrix of a segmentation: entry (t, p) counts the pixels of true class t predicted as p, over
/// all pixels of all images added, the ignored ones left out. One matrix for the whole set, not a mean of
/// per-image scores, as mmsegmentation and torchvision's reference compute mIoU.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] counts;

    /// <summary>Creates an empty matrix for <paramref name="numClasses"/> classes (1 to 255) and the <paramref name="ignore"/> label.</summary>
    public ConfusionMatrix(int numClasses, int ignore = 255)
    {
        if (numClasses is < 1 or > 255) throw new MobileOneException($"a segmentation has 1 to 255 classes, found {numClasses}");
        if (ignore is < 0 or > 255) throw new MobileOneException($"the ignore label must be 0 to 255, found {ignore}");
        if (ignore < numClasses) throw new MobileOneException($"the ignore label {ignore} is one of the {numClasses} classes");
        NumClasses = numClasses;
        Ignore = ignore;
        counts = new long[numClasses * numClasses];
    }

    /// <summary>Classes.</summary>
    public int NumClasses { get; }

    /// <summary>The ground-truth label of pixels left out.</summary>
    public int Ignore { get; }

    /// <summary>Pixels of true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => counts[truth * NumClasses + predicted];

    /// <summary>Pixels counted (the ignored ones left out).</summary>
    public long Total => counts.Sum();

    /// <summary>
    /// Adds one image's pixels: <paramref name="truth"/> and <paramref name="predicted"/> labels of the same pixels.
    /// A true label other than a class or <see cref="Ignore"/> is an error naming <paramref name="truthSource"/>, a
    /// predicted label that is no class one naming <paramref name="predictedSource"/>; nothing is added then.
    /// </summary>
    public void Add(ReadOnlySpan<byte> truth, ReadOnlySpan<byte> predicted, string truthSource, string predictedSource)
    {
        if (truth.Length != predicted.Length)
            throw new MobileOneException($"{predictedSource}: {predicted.Length:N0} predicted pixels for {truth.Length:N0} true ones");
        var image = new long[counts.Length];
        for (int i = 0; i < truth.Length; i++)
        {
            int t = truth[i], p = predicted[i];
            if (t == Ignore) continue;
            if (t >= NumClasses) throw new MobileOneException($"{truthSource}: label {t} at pixel {i} is not one of the {NumClasses} classes nor the ignore label {Ignore}");
            if (p >= NumClasses) throw new MobileOneException($"{predictedSource}: predicted label {p} at pixel {i} is not one of the {NumClasses} classes");
            image[t * NumClasses + p]++;
        }
        for (int i = 0; i < counts.Length; i++) counts[i] += image[i];
    }

    /// <summary>The scores of the matrix (<see cref="SegmentationScore"/>).</summary>
    public SegmentationScore Score()
    {
        var iou = new double?[NumClasses];
        long diagonal = 0;
        for (int c = 0; c < NumClasses; c++)
        {
            long tp = this[c, c], truth = 0, predicted = 0;
            for (int k = 0; k < NumClasses; k++)
            {
                truth += this[c, k];
                predicted += this[k, c];
            }
            long union = truth + predicted - tp; // TP + FN + FP
            iou[c] = union > 0 ? (double)tp / union : null;
            diagonal += tp;
        }
        var present = iou.OfType<double>().ToList();
        long total = Total;
        return new SegmentationScore(present.Count > 0 ? present.Average() : null, total > 0 ? (double)diagonal / total : null, iou);
    }
}

/// <summary>The scores of a segmentation.</summary>
/// <param name="MeanIoU">The mean IoU over the classes present in the ground truth or the prediction (null when none is).</param>
/// <param name="PixelAccuracy">Correct pixels over counted pixels (null when no pixel is counted).</param>
/// <param name="PerClassIoU">Each class's TP / (TP + FP + FN), null for a class absent from both ground truth and prediction.</param>
public sealed record SegmentationScore(double? MeanIoU, double? PixelAccuracy, IReadOnlyList<double?> PerClassIoU)
{
    /// <summary>The scores as one JSON object: <c>{"mIoU", "pixel_accuracy", "per_class_iou"}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["mIoU"] = MeanIoU, ["pixel_accuracy"] = PixelAccuracy, ["per_class_iou"] = PerClassIoU,
    });
}
