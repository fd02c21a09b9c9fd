using System.Globalization;
using MobileOne.Detection;
using MobileOne.Export;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>
/// An exported detector run by ONNX Runtime against the TorchSharp model it came from, on one seeded random
/// image at its size. Every anchor's boxes and scores (from the graph without NMS, built in memory when the file
/// has NMS) against the model's decoded, clipped boxes and softmax; and, when the file has NMS, its detections
/// against <see cref="SsdPostprocessor"/> run on ONNX Runtime's own boxes and scores, so that the two suppressions
/// see the same numbers and no near-tie between runtimes decides.
/// </summary>
/// <param name="Path">The ONNX file (or where it goes).</param>
/// <param name="Size">Side of the random image.</param>
/// <param name="BoxDifference">Largest |ONNX - TorchSharp| of the boxes' coordinates, relative to the largest coordinate.</param>
/// <param name="ScoreDifference">Largest |ONNX - TorchSharp| of the class probabilities.</param>
/// <param name="Detections">With NMS: the graph's detections; null without.</param>
/// <param name="DetectionMismatch">With NMS: how the graph's detections differ from the post-processor's, or null when they agree.</param>
public sealed record DetectorExportCheck(string Path, int Size, double BoxDifference, double ScoreDifference, int? Detections, string? DetectionMismatch)
{
    /// <summary>The largest difference the check accepts, relative for the boxes, absolute for the probabilities.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// Exports <paramref name="model"/> (a MobileOne backbone folded first), checks the graph against the model in
    /// memory, and writes it to <paramref name="path"/> atomically only when they agree; a clear error otherwise.
    /// </summary>
    public static DetectorExportCheck ExportChecked(SsdLite model, string path, DetectorExportOptions options)
    {
        var folded = DetectorCheckpoint.Fold(model);
        try
        {
            var onnx = DetectorExporter.ToBytes(folded, options);
            var check = Run(folded, onnx, path, options);
            if (!check.Agrees)
                throw new MobileOneException($"{path}: not written: ONNX Runtime disagrees with TorchSharp on the exported detector ({check.Summary})");
            IO.AtomicFile.WriteAllBytes(path, onnx);
            return check;
        }
        finally
        {
            if (!ReferenceEquals(folded, model)) folded.Dispose();
        }
    }

    /// <summary>Runs <paramref name="onnx"/> (exported from <paramref name="model"/> with <paramref name="options"/>; named <paramref name="source"/>) and the model itself.</summary>
    public static DetectorExportCheck Run(SsdLite model, byte[] onnx, string source, DetectorExportOptions options)
    {
        int s = options.Config.ImageSize;
        using var scope = NewDisposeScope();
        var x = randn(1, model.Backbone.Trunk.InChannels, s, s, generator: new Generator(0));
        var input = x.data<float>().ToArray();
        using var file = new OnnxDetector(onnx, source: source);
        using var withoutNms = file.HasNms ? new OnnxDetector(DetectorExporter.ToBytes(model, options with { Nms = false }), source: source + " (without NMS)") : null;
        var dense = withoutNms ?? file;
        var (boxes, scores) = dense.RunDense(input, 1);
        var (expectedBoxes, expectedScores) = TorchOutputs(model, x, s);
        double boxDiff = Difference(expectedBoxes, boxes, relative: true), scoreDiff = Difference(expectedScores, scores, relative: false);
        if (!file.HasNms) return new DetectorExportCheck(source, s, boxDiff, scoreDiff, null, null);
        var found = file.Detect(input);
        var expected = model.Postprocessor.Select(boxes, scores, dense.NumClasses);
        return new DetectorExportCheck(source, s, boxDiff, scoreDiff, found.Count, Mismatch(expected, found));
    }

    private static (float[] Boxes, float[] Scores) TorchOutputs(SsdLite model, Tensor x, int size)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // The graph holds the BatchNorm statistics: so must the reference, whatever mode the caller left it in.
        return model.InEvalMode(() =>
        {
            var (codes, logits, grids) = model.ForwardHeads(x);
            var boxes = BoxOps.Clip(model.Coder.Decode(codes[0], model.Anchors(grids, size, size)), size, size);
            return (boxes.contiguous().data<float>().ToArray(), logits[0].softmax(-1).contiguous().data<float>().ToArray());
        });
    }

    private static double Difference(float[] expected, float[] actual, bool relative)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double worst = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            worst = d <= worst ? worst : d;
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return relative && scale > 0 ? worst / scale : worst;
    }

    /// <summary>
    /// The first difference between two lists of detections, or null when they agree: the same count, the same scores
    /// in order, and every detection matched by one of the other list with its label, score and box. Detections whose
    /// scores tie within <paramref name="scoreTolerance"/> may come in either order.
    /// </summary>
    public static string? Mismatch(IReadOnlyList<DetectedBox> expected, IReadOnlyList<DetectedBox> actual, double scoreTolerance = 1e-5, double boxTolerance = 1e-3)
    {
        if (expected.Count != actual.Count) return $"{actual.Count} detections, not {expected.Count}";
        bool Close(double a, double b, double tolerance) => Math.Abs(a - b) <= tolerance;
        bool Same(DetectedBox e, DetectedBox a) => e.Label == a.Label && Close(e.Score, a.Score, scoreTolerance)
            && Close(e.X1, a.X1, boxTolerance) && Close(e.Y1, a.Y1, boxTolerance) && Close(e.X2, a.X2, boxTolerance) && Close(e.Y2, a.Y2, boxTolerance);
        var used = new bool[actual.Count];
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            if (!Close(e.Score, actual[i].Score, scoreTolerance)) return $"detection {i} scores {actual[i].Score}, not {e.Score}";
            int j = Enumerable.Range(0, actual.Count).FirstOrDefault(j => !used[j] && Same(e, actual[j]), -1);
            if (j < 0) return $"none is label {e.Label}, score {e.Score}, box [{e.X1}, {e.Y1}, {e.X2}, {e.Y2}]";
            used[j] = true;
        }
        return null;
    }

    /// <summary>True when boxes and scores agree within <see cref="Tolerance"/> and, with NMS, the detections agree.</summary>
    public bool Agrees => BoxDifference <= Tolerance && ScoreDifference <= Tolerance && DetectionMismatch is null;

    /// <summary>One line: the image and the differences found.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "checked with ONNX Runtime on a random 1x3x{0}x{0} image: boxes within {1:E2} (relative), scores within {2:E2} of TorchSharp{3}",
        Size, BoxDifference, ScoreDifference,
        Detections is int d ? DetectionMismatch is null ? $"; the graph's {d} detections equal the post-processor's" : $"; detections differ: {DetectionMismatch}" : "");
}
