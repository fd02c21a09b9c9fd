using System.Globalization;
using System.Text.Json;
using MobileOne.Detection;
using MobileOne.Export;
using MobileOne.Inference;
using static TorchSharp.torch;

namespace MobileOne.Benchmarks;

/// <summary>
/// SSDLite on MobileOne-S0 against SSDLite on MobileNetV3-Large (torchvision's <c>ssdlite320_mobilenet_v3_large</c>)
/// at their 320x320 input on ONNX Runtime, each exported with non-maximum suppression in the graph (post-processing
/// included) and without (excluded); the four graphs measured alternately in one run. The weights are random,
/// which leaves the network's latency as it is but not the post-processing's: a random detector scores every class
/// above SSD's threshold almost everywhere, so by default the background is raised (<see cref="BackgroundBias"/>)
/// until about as many (box, class) pairs reach suppression as asked.
/// </summary>
public static class DetectorComparison
{
    /// <summary>The detectors compared, by backbone.</summary>
    public static IReadOnlyList<string> Backbones { get; } = ["mobileone_s0", DetectorConfig.MobileNetV3Large];

    /// <summary>
    /// Measures the four graphs with <paramref name="s"/>'s threads, warm-up and runs (batch 1; the size is the
    /// detectors'). <paramref name="nmsBoxes"/>: the (box, class) pairs to leave reaching suppression, or null for the
    /// random weights' own. <paramref name="progress"/> hears what runs.
    /// </summary>
    public static DetectorComparisonReport Run(BenchSettings s, long? nmsBoxes, Action<string> progress)
    {
        if (s.Batch != 1) throw new MobileOneException($"the detectors' graphs with NMS take one image; measure them at batch 1, not {s.Batch}");
        var loads = new List<NmsLoad>();
        var targets = new List<BenchTarget>();
        try
        {
            int size = new DetectorConfig(Backbones[0]).ImageSize;
            s = s with { Height = size, Width = size };
            var input = s.RandomInput();
            foreach (var backbone in Backbones)
            {
                progress($"exporting {new DetectorConfig(backbone).Name} with and without NMS...");
                var (load, pair) = Prepare(new DetectorConfig(backbone), input, nmsBoxes, s.Threads);
                loads.Add(load);
                targets.AddRange(pair);
            }
            progress($"measuring {string.Join(", ", targets.Select(t => t.Name))}: batch 1, {size}x{size}, {s.Threads} thread(s), {s.Warmup} warm-up + {s.Runs} timed runs, alternating in blocks of 10");
            var stats = s.MeasureInterleaved(targets.Select(t => t.Engine), input);
            var rows = targets.Select((t, i) => new LatencyRow(t.Name, t.Engine.Name, stats[i], null, null)).ToList();
            return new DetectorComparisonReport(new LatencyReport(rows, s, ProcessMemory.PeakMiB()), loads);
        }
        finally
        {
            foreach (var t in targets) t.Engine.Dispose();
        }
    }

    // One detector: random weights, folded, the background raised when asked; its graphs with and without NMS, and the load its NMS sees.
    private static (NmsLoad Load, BenchTarget[] Targets) Prepare(DetectorConfig config, float[] input, long? nmsBoxes, int threads)
    {
        using var model = config.Create(seed: 0);
        // PyTorch's default initialisation throughout: SSDLite's N(0, 0.03) leaves a random MobileNetV3's maps
        // nearly constant, so that every anchor would score alike and no background shift could single out a few.
        Models.WeightInit.Reset(model, seed: 0);
        model.eval();
        var folded = DetectorCheckpoint.Fold(model);
        try
        {
            using var scope = NewDisposeScope();
            var image = tensor(input, [1, 3, config.ImageSize, config.ImageSize]);
            var (shift, pairs) = nmsBoxes is long n ? BackgroundBias.Calibrate(folded, image, n) : (0.0, Pairs(folded, image));
            var options = new DetectorExportOptions(config);
            var graphs = new List<OnnxDetector>();
            try
            {
                graphs.Add(new OnnxDetector(DetectorExporter.ToBytes(folded, options), threads, config.Name + " +NMS"));
                graphs.Add(new OnnxDetector(DetectorExporter.ToBytes(folded, options with { Nms = false }), threads, config.Name + " no NMS"));
                var load = new NmsLoad(config.Name, shift, pairs, graphs[0].Detect(input).Count);
                return (load, graphs.Select(d => new BenchTarget(d.Source, d, null)).ToArray());
            }
            catch
            {
                foreach (var d in graphs) d.Dispose();
                throw;
            }
        }
        finally
        {
            if (!ReferenceEquals(folded, model)) folded.Dispose();
        }
    }

    private static long Pairs(SsdLite model, Tensor image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return model.Postprocessor.NmsInputs(model.ForwardHeads(image).Logits[0].softmax(-1));
    }
}

/// <summary>What a detector's suppression had to do on the benchmark's image.</summary>
/// <param name="Detector">The detector's name.</param>
/// <param name="BackgroundShift">What was added to the background's logits (0: the random weights as they are).</param>
/// <param name="BoxesReachingNms">(Box, class) pairs scoring above the threshold, at most the top-k per class.</param>
/// <param name="Detections">Detections the graph returned.</param>
public sealed record NmsLoad(string Detector, double BackgroundShift, long BoxesReachingNms, int Detections);

/// <summary>The result of <see cref="DetectorComparison"/>: the four graphs' latency and what their suppression did.</summary>
public sealed record DetectorComparisonReport(LatencyReport Latency, IReadOnlyList<NmsLoad> Loads)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The latency table, then per detector the cost of its post-processing and its load.</summary>
    public IEnumerable<string> TextLines()
    {
        foreach (var line in Latency.TextLines()) yield return line;
        var rows = Latency.Rows;
        for (int i = 0; i < Loads.Count; i++)
        {
            var l = Loads[i];
            double withNms = rows[2 * i].Stats.MedianMs, without = rows[2 * i + 1].Stats.MedianMs;
            yield return string.Format(Inv, "{0}: post-processing {1:F2} ms of {2:F2} (median with NMS minus without); {3:N0} (box, class) pairs reached NMS{4}, {5} detections",
                l.Detector, withNms - without, withNms, l.BoxesReachingNms, l.BackgroundShift == 0 ? "" : string.Format(Inv, " (background logit +{0:F2})", l.BackgroundShift), l.Detections);
        }
    }

    /// <summary>One JSON object: the latency rows and the loads.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["latency"] = JsonDocument.Parse(Latency.ToJson()).RootElement,
        ["nms"] = Loads.Select(l => new Dictionary<string, object>
        {
            ["detector"] = l.Detector, ["background_shift"] = l.BackgroundShift, ["boxes_reaching_nms"] = l.BoxesReachingNms, ["detections"] = l.Detections,
        }).ToArray(),
    });
}
