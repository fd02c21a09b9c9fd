using System.Globalization;
using MobileOne.Inference;
using MobileOne.Models;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>A segmenter's validation: the scores of one confusion matrix over the split, and the mean per-pixel loss.</summary>
public sealed record SegmentationEvaluation(SegmentationScore Score, double Loss)
{
    /// <summary>
    /// The scores as training metrics: <c>loss</c>, <c>mIoU</c>, <c>pixel_accuracy</c> and <c>iou_0</c>, <c>iou_1</c>, ...
    /// per class (-1 for a class absent from both ground truth and prediction, as COCO marks what is undefined).
    /// </summary>
    public Training.MetricSet ToMetrics() => new(
        new[] { ("loss", Loss), ("mIoU", Score.MeanIoU ?? 0), ("pixel_accuracy", Score.PixelAccuracy ?? 0) }
            .Concat(Score.PerClassIoU.Select((v, c) => ("iou_" + c.ToString(CultureInfo.InvariantCulture), v ?? -1))).ToArray());
}

/// <summary>
/// A checkpoint's evaluation: the model as loaded and, when its MobileOne backbone folds, the folded model, whose
/// scores must agree with it within <see cref="Tolerance"/>.
/// </summary>
public sealed record SegmenterEvalReport(SegmentationEvaluation Model, SegmentationEvaluation? Folded)
{
    /// <summary>The largest difference allowed between the two models' scores: folding changes the logits by float rounding only.</summary>
    public const double Tolerance = 1e-3;

    /// <summary>The largest difference between the two models' mIoU, pixel accuracy and per-class IoUs (0 without a folded model).</summary>
    public double MaxDifference => Folded is null ? 0 : Values(Model.Score).Zip(Values(Folded.Score)).Max(p => Math.Abs(p.First - p.Second));

    /// <summary>True when the folded model scores as the train-time one does.</summary>
    public bool Agrees => MaxDifference <= Tolerance;

    // An absent class is 0 here and present with IoU 0 there only if the fold turned a whole class around: a difference of 0 hides nothing else.
    private static IEnumerable<double> Values(SegmentationScore s) =>
        new[] { s.MeanIoU ?? 0, s.PixelAccuracy ?? 0 }.Concat(s.PerClassIoU.Select(v => v ?? 0));
}

/// <summary>
/// Runs a segmenter over a split at full resolution and scores it: each image at its own size, the class of each
/// pixel the argmax of the logits, one <see cref="ConfusionMatrix"/> over every pixel of every image. The model is
/// in eval mode meanwhile and goes back to its mode after.
/// </summary>
public static class SegmentationEvaluator
{
    /// <summary>Evaluates <paramref name="model"/> on the images of <paramref name="loader"/>'s split.</summary>
    public static SegmentationEvaluation Evaluate(DeepLabV3 model, SegmentationLoader loader, Action<int, int>? progress = null, CancellationToken cancel = default) =>
        Evaluate([model], loader, progress, cancel)[0];

    /// <summary>
    /// Evaluates each of <paramref name="models"/> on the images of <paramref name="loader"/>'s split, in one pass: every
    /// batch is decoded once and run through all of them.
    /// </summary>
    public static IReadOnlyList<SegmentationEvaluation> Evaluate(IReadOnlyList<DeepLabV3> models, SegmentationLoader loader,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        using var evalMode = new EvalMode([.. models]);
        return Evaluate(models.Select(m => (Forward)((_, images) => m.call(images))).ToList(), loader, progress, cancel);
    }

    /// <summary>
    /// Evaluates an exported segmenter, float or int8, in ONNX Runtime on <paramref name="set"/> at full resolution, the
    /// images normalised as its metadata records. The logits come from the graph, the scores and the loss as for a checkpoint.
    /// </summary>
    public static SegmentationEvaluation EvaluateOnnx(Inference.OnnxSegmenter segmenter, SegmentationData set, int batchSize, int workers,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (set.NumClasses != segmenter.NumClasses)
            throw new MobileOneException($"{set.Root}: opened with {set.NumClasses} classes; the segmenter {segmenter.Source} has {segmenter.NumClasses}");
        segmenter.RequireRgb(segmenter.Source);
        var loader = new SegmentationLoader(set, null, segmenter.Normalization, batchSize, shuffle: false, seed: 0, workers);
        Forward graph = (batch, _) => tensor(segmenter.Run(batch.Images, batch.Count, batch.Height, batch.Width), [batch.Count, segmenter.NumClasses, batch.Height, batch.Width]);
        return Evaluate([graph], loader, progress, cancel)[0];
    }

    // The logits [N, K, H, W] of a batch, given also as a tensor [N, 3, H, W].
    private delegate Tensor Forward(SegmentationBatch batch, Tensor images);

    private static IReadOnlyList<SegmentationEvaluation> Evaluate(IReadOnlyList<Forward> models, SegmentationLoader loader, Action<int, int>? progress, CancellationToken cancel)
    {
        var tallies = models.Select(m => new Tally(m, loader.Set)).ToArray();
        int images = 0, total = loader.Set.Samples.Count;
        using var noGrad = no_grad();
        foreach (var batch in loader.FullResolution(cancel))
        {
            using var scope = NewDisposeScope();
            var images4d = Images(batch);
            var labels = Labels(batch);
            foreach (var tally in tallies) tally.Add(batch, images4d, labels);
            images += batch.Count;
            progress?.Invoke(images, total);
        }
        return tallies.Select(t => t.Result()).ToArray();
    }

    // One model's confusion matrix and loss over the batches seen so far.
    private sealed class Tally(Forward model, SegmentationData set)
    {
        private readonly ConfusionMatrix matrix = new(set.NumClasses, SegmentationData.Ignore);
        private double lossSum;
        private long pixels;

        public void Add(SegmentationBatch batch, Tensor images, Tensor labels)
        {
            var logits = model(batch, images);
            lossSum += SegmentationLoss.Sum(logits, labels).item<float>();
            pixels += SegmentationLoss.Counted(labels);
            var predicted = Classes(logits);
            int plane = batch.Height * batch.Width;
            for (int i = 0; i < batch.Count; i++)
                matrix.Add(batch.Labels.AsSpan(i * plane, plane), predicted.AsSpan(i * plane, plane), set.Samples[batch.Indices[i]].MaskPath, "the segmenter's prediction");
        }

        public SegmentationEvaluation Result() => new(matrix.Score(), lossSum / Math.Max(1, pixels));
    }

    /// <summary>
    /// Evaluates <paramref name="segmenter"/> on <paramref name="set"/> at full resolution, and its folded form too when its
    /// backbone folds, both in one pass over the images.
    /// </summary>
    public static SegmenterEvalReport EvaluateCheckpoint(LoadedSegmenter segmenter, SegmentationData set, int batchSize, int workers,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (set.NumClasses != segmenter.Config.NumClasses)
            throw new MobileOneException($"{set.Root}: opened with {set.NumClasses} classes; the segmenter {segmenter.Path} has {segmenter.Config.NumClasses}");
        var loader = new SegmentationLoader(set, null, DeepLabV3.Normalization, batchSize, shuffle: false, seed: 0, workers);
        var folded = SegmenterFold.Fold(segmenter.Model, segmenter.Config);
        if (ReferenceEquals(folded, segmenter.Model)) return new SegmenterEvalReport(Evaluate(segmenter.Model, loader, progress, cancel), null);
        using (folded)
        {
            var both = Evaluate([segmenter.Model, folded], loader, progress, cancel);
            return new SegmenterEvalReport(both[0], both[1]);
        }
    }

    /// <summary>The batch's images as a [N, 3, H, W] tensor.</summary>
    public static Tensor Images(SegmentationBatch batch) => tensor(batch.Images, [batch.Count, 3, batch.Height, batch.Width]);

    /// <summary>The batch's labels as a [N, H, W] int64 tensor.</summary>
    public static Tensor Labels(SegmentationBatch batch) => tensor(batch.Labels, [batch.Count, batch.Height, batch.Width]).to(int64);

    /// <summary>The class of every pixel of [N, K, H, W] logits, row by row, image after image.</summary>
    public static byte[] Classes(Tensor logits)
    {
        using var classes = logits.argmax(1).to(ScalarType.Byte).contiguous();
        return classes.data<byte>().ToArray();
    }
}
