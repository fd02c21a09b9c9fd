using MobileOne.Checkpoints;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Reparameterization;

namespace MobileOne.Benchmarks;

/// <summary>What to measure: ONNX files, or one MobileOne (a checkpoint's, else random weights of an architecture).</summary>
/// <param name="OnnxFiles">ONNX image classifiers, segmenters or detectors, measured alternately (a detector at its own input size); when any, the rest is ignored.</param>
/// <param name="Checkpoint">A checkpoint whose model to measure.</param>
/// <param name="Config">The architecture (of the checkpoint, or for random weights); S0 when null and there is no checkpoint.</param>
/// <param name="Fused">Measure the reparameterised model (else the train-time one).</param>
/// <param name="Engine"><c>onnx</c> (exported in memory) or <c>torch</c>.</param>
public sealed record BenchSource(IReadOnlyList<string> OnnxFiles, string? Checkpoint, MobileOneConfig? Config, bool Fused, string Engine);

/// <summary>Latency of one model, or of several ONNX files alternately, with the paper's protocol.</summary>
public static class ModelBenchmark
{
    /// <summary>Loads the targets, measures them (telling <paramref name="progress"/> what runs) and releases them.</summary>
    public static LatencyReport Run(BenchSource source, BenchSettings settings, Action<string> progress)
    {
        var targets = new List<BenchTarget>();
        try
        {
            targets.AddRange(Targets(source, settings));
            settings = AtGraphSize(targets, settings);
            progress($"measuring {string.Join(", ", targets.Select(x => x.Name))}: batch {settings.Batch}, {settings.Height}x{settings.Width}, {settings.Threads} thread(s), " +
                     $"{settings.Warmup} warm-up + {settings.Runs} timed runs" + (targets.Count > 1 ? ", alternating in blocks of 10" : ""));
            var stats = settings.MeasureInterleaved(targets.Select(t => t.Engine), settings.RandomInput(Channels(targets)));
            double peak = ProcessMemory.PeakMiB();
            return new LatencyReport(targets.Select((t, i) => new LatencyRow(t.Name, t.Engine.Name, stats[i], t.Efficiency(stats[i], settings),
                t.Config is null ? null : ModelProfile.Compute(t.Config, settings.Height, settings.Width).MacsFused)).ToList(), settings, peak);
        }
        finally
        {
            foreach (var x in targets) x.Engine.Dispose();
        }
    }

    // A graph may fix its input size (a detector's anchors are laid out for it; an export without dynamic
    // height and width records one): measure at that size, as every model of one run must share it.
    private static BenchSettings AtGraphSize(IEnumerable<BenchTarget> targets, BenchSettings settings)
    {
        var sizes = targets.Select(t => FixedSize(t.Engine)).OfType<(int, int)>().Distinct().ToList();
        if (sizes.Count > 1) throw new MobileOneException($"the graphs take different input sizes ({string.Join(", ", sizes.Select(x => $"{x.Item1}x{x.Item2}"))}); measure them separately");
        return sizes.Count == 1 ? settings with { Height = sizes[0].Item1, Width = sizes[0].Item2 } : settings;
    }

    private static (int Height, int Width)? FixedSize(IInferenceEngine engine) => engine switch
    {
        OnnxDetector d => (d.ImageSize, d.ImageSize),
        OnnxEngine { FixedHeight: int h, FixedWidth: int w } => (h, w),
        _ => null,
    };

    // One input batch feeds every model: they must agree on its channels (3, or 1 for a grey model).
    private static int Channels(IEnumerable<BenchTarget> targets)
    {
        var channels = targets.Select(t => t.Engine.InputChannels).Distinct().ToList();
        return channels.Count == 1 ? channels[0]
            : throw new MobileOneException($"the models take different input channels ({string.Join(", ", channels)}); measure them separately");
    }

    private static IEnumerable<BenchTarget> Targets(BenchSource source, BenchSettings settings)
    {
        if (source.OnnxFiles.Count > 0)
        {
            foreach (var f in source.OnnxFiles) yield return new BenchTarget(Path.GetFileName(f), OnnxEngine.LoadAny(f, settings.Threads), null);
            yield break;
        }
        var (net, name) = Model(source);
        net.eval();
        if (source.Fused && !net.IsFused) net = Reparameterizer.Fuse(net);
        yield return BenchTarget.Create($"{name} {(source.Fused ? "fused" : "unfused")}", net, source.Engine, settings);
    }

    private static (MobileOneModel Net, string Name) Model(BenchSource source)
    {
        if (source.Checkpoint is { } path)
        {
            var loaded = MobileOneCheckpoint.Load(path, source.Config);
            if (loaded.Fused && !source.Fused)
                throw new MobileOneException($"{path} is already fused; measuring the train-time form needs a train-time checkpoint");
            return (loaded.Model, Path.GetFileName(path));
        }
        var config = source.Config ?? MobileOneVariants.S0();
        return (new MobileOneModel(config), MobileOneVariants.NameOf(config)?.ToUpperInvariant() ?? "custom");
    }
}
