using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;
using MobileOne.Inference;
using MobileOne.Models;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>A detector's validation: COCO's statistics, the mean loss, and the detections in COCO's results form.</summary>
public sealed record DetectionEvaluation(CocoStats Stats, double Loss, IReadOnlyList<CocoDetection> Detections);

/// <summary>
/// A checkpoint's evaluation: the model as loaded and, when its MobileOne backbone folds, the folded model,
/// whose statistics must agree with it within <see cref="Tolerance"/>.
/// </summary>
public sealed record DetectorEvalReport(DetectionEvaluation Model, DetectionEvaluation? Folded)
{
    /// <summary>The largest difference allowed between the two models' statistics: folding changes the outputs by float rounding only.</summary>
    public const double Tolerance = 1e-3;

    /// <summary>The largest difference between the two models' 12 statistics (0 without a folded model).</summary>
    public double MaxDifference => Folded is null ? 0 : Model.Stats.Values.Zip(Folded.Stats.Values).Max(p => Math.Abs(p.First - p.Second));

    /// <summary>True when the folded model scores as the train-time one does.</summary>
    public bool Agrees => MaxDifference <= Tolerance;
}

/// <summary>
/// Runs a detector over a data set and scores it as COCO does: every image resized to the network's input,
/// SSD's post-processing, the boxes scaled back to the image, labels mapped back to category ids, then
/// <see cref="CocoEvaluator"/>. The model is in eval mode meanwhile and goes back to its mode after.
/// </summary>
public static class DetectionEvaluator
{
    /// <summary>Evaluates <paramref name="model"/> on <paramref name="loader"/>'s data set at <paramref name="size"/> pixels a side.</summary>
    public static DetectionEvaluation Evaluate(SsdLite model, DetectionLoader loader, int size, Action<int, int>? progress = null, CancellationToken cancel = default) =>
        Evaluate([model], loader, size, progress, cancel)[0];

    /// <summary>
    /// Evaluates each of <paramref name="models"/> on <paramref name="loader"/>'s data set at <paramref name="size"/> pixels
    /// a side, in one pass: every batch is decoded once and run through all of them.
    /// </summary>
    public static IReadOnlyList<DetectionEvaluation> Evaluate(IReadOnlyList<SsdLite> models, DetectionLoader loader, int size,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        using var evalMode = new EvalMode([.. models]);
        using var noGrad = no_grad();
        var forwards = models.Select(m =>
        {
            var loss = new SsdLoss(m.Coder);
            return (Forward)(batch => RunScored(m, loss, batch));
        }).ToList();
        return Evaluate(forwards, loader, size, progress, cancel);
    }

    /// <summary>
    /// Evaluates an exported detector, float or int8, with or without NMS in its graph, in ONNX Runtime on <paramref name="set"/>:
    /// every image stretched to the graph's input and normalised as its metadata records, the detections scaled back to the image.
    /// The loss needs the heads' raw outputs, which the graph does not give: it is NaN.
    /// </summary>
    public static DetectionEvaluation EvaluateOnnx(Inference.OnnxDetector detector, CocoDataset set, int batchSize, int workers,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        detector.RequireRgb(detector.Source);
        if (detector.NumClasses != 0 && detector.NumClasses != set.Labels.Count + 1)
            throw new MobileOneException($"{detector.Source}: the detector has {detector.NumClasses - 1} object classes; the data set {set.Labels.Count}");
        var loader = new DetectionLoader(set, null, detector.Normalization, batchSize, shuffle: false, seed: 0, workers);
        CheckCategories(detector, set);
        int s = detector.ImageSize, plane = 3 * s * s;
        Forward graph = batch => new Scored(Enumerable.Range(0, batch.Count).Select(i =>
        {
            var (w, h) = batch.OriginalSizes[i];
            var found = detector.DetectImage(batch.Images.AsSpan(i * plane, plane).ToArray(), (double)w / s, (double)h / s);
            // A graph that recorded no class count has its labels checked here, against the data set's.
            if (found.FirstOrDefault(b => b.Label > set.Labels.Count) is { } stray)
                throw new MobileOneException($"{detector.Source}: a detection has label {stray.Label}; the data set has {set.Labels.Count} categories");
            return found;
        }).ToArray(), double.NaN);
        return Evaluate([graph], loader, s, progress, cancel)[0];
    }

    // Labels are indices into the category ids the exporter records: those must be the data set's, in its order.
    private static void CheckCategories(Inference.OnnxDetector detector, CocoDataset set)
    {
        if (!detector.Metadata.TryGetValue("category_ids", out var text)) return;
        long[]? ids = null;
        try { ids = System.Text.Json.JsonSerializer.Deserialize<long[]>(text); }
        catch (System.Text.Json.JsonException) { }
        if (ids is null) throw new MobileOneException($"{detector.Source}: metadata 'category_ids' = '{IO.MessageText.Shorten(text, 40)}' is not a JSON array of ids");
        if (!ids.SequenceEqual(set.Labels.CategoryIds))
            throw new MobileOneException($"{detector.Source}: the detector was trained on categories [{IO.MessageText.Shorten(string.Join(", ", ids), 60)}]; " +
                                        $"the data set has [{IO.MessageText.Shorten(string.Join(", ", set.Labels.CategoryIds), 60)}]");
    }

    // One batch's detections per image, in the images' own pixels, and the summed loss (NaN when unknown).
    private sealed record Scored(IReadOnlyList<DetectedBox>[] PerImage, double LossSum);

    private delegate Scored Forward(DetectionBatch batch);

    private static IReadOnlyList<DetectionEvaluation> Evaluate(IReadOnlyList<Forward> models, DetectionLoader loader, int size, Action<int, int>? progress, CancellationToken cancel)
    {
        var tallies = models.Select(m => new Tally(m, loader.Set)).ToArray();
        int images = 0;
        foreach (var batch in loader.Epoch(0, 0, _ => size, cancel))
        {
            foreach (var tally in tallies) tally.Add(batch);
            images += batch.Count;
            progress?.Invoke(images, loader.Set.Images.Count);
        }
        return tallies.Select(t => t.Result(images)).ToArray();
    }

    private static Scored RunScored(SsdLite model, SsdLoss loss, DetectionBatch batch)
    {
        using var scope = NewDisposeScope();
        var (codes, logits, anchors) = Run(model, batch);
        double sum;
        using (var terms = loss.Compute(codes, logits, anchors, Targets(batch)))
            sum = terms.Total().item<float>() * batch.Count;
        return new Scored(Enumerable.Range(0, batch.Count).Select(i => Postprocess(model, codes[i], logits[i], anchors, batch, i)).ToArray(), sum);
    }

    // One model's detections and loss over the batches seen so far.
    private sealed class Tally(Forward model, CocoDataset set)
    {
        private readonly List<CocoDetection> detections = [];
        private double lossSum;

        public void Add(DetectionBatch batch)
        {
            var scored = model(batch);
            lossSum += scored.LossSum;
            for (int i = 0; i < batch.Count; i++) detections.AddRange(ToCoco(set, batch.ImageIndices[i], scored.PerImage[i]));
        }

        public DetectionEvaluation Result(int images) =>
            new(CocoEvaluator.Evaluate(set, detections), lossSum / Math.Max(1, images), detections);
    }

    /// <summary>
    /// Evaluates <paramref name="detector"/> on <paramref name="set"/> at its input size, and its folded form too when
    /// its backbone folds, both in one pass over the images.
    /// </summary>
    public static DetectorEvalReport EvaluateCheckpoint(LoadedDetector detector, CocoDataset set, int batchSize, int workers,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        var loader = new DetectionLoader(set, null, SsdLite.Normalization, batchSize, shuffle: false, seed: 0, workers);
        int size = detector.Config.ImageSize;
        var folded = DetectorCheckpoint.Fold(detector.Model);
        if (ReferenceEquals(folded, detector.Model)) return new DetectorEvalReport(Evaluate(detector.Model, loader, size, progress, cancel), null);
        using (folded)
        {
            var both = Evaluate([detector.Model, folded], loader, size, progress, cancel);
            return new DetectorEvalReport(both[0], both[1]);
        }
    }

    /// <summary>Box codes, logits (float32) and anchors of a batch.</summary>
    public static (Tensor Codes, Tensor Logits, Tensor Anchors) Run(SsdLite model, DetectionBatch batch, ScalarType dtype = ScalarType.Float32)
    {
        var x = tensor(batch.Images, [batch.Count, 3, batch.Size, batch.Size]).to(dtype);
        var (codes, logits, grids) = model.ForwardHeads(x);
        return (codes.to(float32), logits.to(float32), model.Anchors(grids, batch.Size, batch.Size));
    }

    /// <summary>Each sample's objects as the loss takes them.</summary>
    public static BoxTargets[] Targets(DetectionBatch batch) => batch.Samples.Select(s =>
        new BoxTargets(tensor(s.Boxes, [s.Labels.Length, 4]), tensor(s.Labels.Select(l => (long)l).ToArray()))).ToArray();

    /// <summary>Image <paramref name="i"/>'s detections, in the pixels of the image as it was before resizing.</summary>
    public static IReadOnlyList<DetectedBox> Postprocess(SsdLite model, Tensor codes, Tensor logits, Tensor anchors, DetectionBatch batch, int i)
    {
        var (w, h) = batch.OriginalSizes[i];
        return model.Postprocessor.Run(codes, logits, anchors, model.Coder, batch.Size, batch.Size, (double)w / batch.Size, (double)h / batch.Size);
    }

    /// <summary>Detections of image <paramref name="imageIndex"/> of <paramref name="set"/> as COCO results (category ids, x, y, w, h).</summary>
    public static IEnumerable<CocoDetection> ToCoco(CocoDataset set, int imageIndex, IEnumerable<DetectedBox> boxes) =>
        boxes.Select(b => new CocoDetection(set.Images[imageIndex].Id, set.Labels.CategoryOf(b.Label), new CocoBox(b.X1, b.Y1, b.Width, b.Height), b.Score));
}
