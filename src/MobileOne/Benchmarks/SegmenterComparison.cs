using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Segmentation;

namespace MobileOne.Benchmarks;

/// <summary>
/// DeepLabV3 on MobileOne-S0 against DeepLabV3 on MobileNetV3-Large (torchvision's <c>deeplabv3_mobilenet_v3_large</c>)
/// at <see cref="SegmenterZoo.InputSize"/> x <see cref="SegmenterZoo.InputSize"/> on ONNX Runtime, with Pascal VOC's 21
/// classes, output stride 16 and no auxiliary head, each exported as deployed (MobileOne folded, BatchNorm folded, the
/// logits upsampled to the input in the graph) and measured alternately in one run. The weights are random: a
/// segmenter's latency does not depend on them, as it has no data-dependent post-processing.
/// </summary>
public static class SegmenterComparison
{
    /// <summary>The segmenters compared, by backbone.</summary>
    public static IReadOnlyList<string> Backbones { get; } = ["mobileone_s0", SegmenterConfig.MobileNetV3Large];

    /// <summary>
    /// Measures the graphs with <paramref name="s"/>'s threads, batch, warm-up and runs at
    /// <see cref="SegmenterZoo.InputSize"/> pixels square. <paramref name="progress"/> hears what runs.
    /// </summary>
    public static LatencyReport Run(BenchSettings s, Action<string> progress)
    {
        var targets = new List<BenchTarget>();
        try
        {
            s = s with { Height = SegmenterZoo.InputSize, Width = SegmenterZoo.InputSize };
            foreach (var backbone in Backbones)
            {
                var config = new SegmenterConfig(backbone);
                progress($"exporting {config.Name}...");
                using var model = config.Create(seed: 0);
                model.eval();
                var onnx = SegmenterExporter.ToBytes(model, new SegmenterExportOptions(config));
                targets.Add(new BenchTarget(config.Name, new OnnxSegmenter(onnx, s.Threads, config.Name), null));
            }
            progress($"measuring {string.Join(", ", targets.Select(t => t.Name))}: batch {s.Batch}, {s.Height}x{s.Width}, {s.Threads} thread(s), " +
                     $"{s.Warmup} warm-up + {s.Runs} timed runs, alternating in blocks of 10");
            var stats = s.MeasureInterleaved(targets.Select(t => t.Engine), s.RandomInput());
            var rows = targets.Select((t, i) => new LatencyRow(t.Name, t.Engine.Name, stats[i], null, null)).ToList();
            return new LatencyReport(rows, s, ProcessMemory.PeakMiB());
        }
        finally
        {
            foreach (var t in targets) t.Engine.Dispose();
        }
    }
}
