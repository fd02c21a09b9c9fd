using System.Globalization;
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
    public static SegmentationEvaluation Evaluate(DeepLabV3 model, SegmentationLoader loader, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        bool training = model.training;
        model.eval();
        try
        {
            var matrix = new ConfusionMatrix(loader.Set.NumClasses, SegmentationData.Ignore);
            double lossSum = 0;
            long pixels = 0;
            int images = 0, total = loader.Set.Samples.Count;
            using var noGrad = no_grad();
            foreach (var batch in loader.FullResolution(cancel))
            {
                using var scope = NewDisposeScope();
                var labels = Labels(batch);
                var logits = model.call(Images(batch));
                lossSum += SegmentationLoss.Sum(logits, labels).item<float>();
                pixels += SegmentationLoss.Counted(labels);
                var predicted = Classes(logits);
                int plane = batch.Height * batch.Width;
                for (int i = 0; i < batch.Count; i++)
                {
                    var source = loader.Set.Samples[batch.Indices[i]];
                    matrix.Add(batch.Labels.AsSpan(i * plane, plane), predicted.AsSpan(i * plane, plane), source.MaskPath, "the segmenter's prediction");
                }
                images += batch.Count;
                progress?.Invoke(images, total);
            }
            return new SegmentationEvaluation(matrix.Score(), lossSum / Math.Max(1, pixels));
        }
        finally
        {
            model.train(training);
        }
    }

    /// <summary>
    /// Evaluates <paramref name="segmenter"/> on <paramref name="set"/> at full resolution, and its folded form too when its
    /// backbone folds.
    /// </summary>
    public static SegmenterEvalReport EvaluateCheckpoint(LoadedSegmenter segmenter, SegmentationData set, int batchSize, int workers,
        Action<string, int, int>? progress = null, CancellationToken cancel = default)
    {
        if (set.NumClasses != segmenter.Config.NumClasses)
            throw new MobileOneException($"{set.Root}: opened with {set.NumClasses} classes; the segmenter {segmenter.Path} has {segmenter.Config.NumClasses}");
        var loader = new SegmentationLoader(set, null, DeepLabV3.Normalization, batchSize, shuffle: false, seed: 0, workers);
        var model = Evaluate(segmenter.Model, loader, (done, all) => progress?.Invoke("model", done, all), cancel);
        var folded = SegmenterFold.Fold(segmenter.Model, segmenter.Config);
        if (ReferenceEquals(folded, segmenter.Model)) return new SegmenterEvalReport(model, null);
        using (folded)
            return new SegmenterEvalReport(model, Evaluate(folded, loader, (done, all) => progress?.Invoke("folded", done, all), cancel));
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
