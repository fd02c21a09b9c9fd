using System.Globalization;
using System.Text.Json;
using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Benchmarks;

/// <summary>
/// Training throughput: forward, backward and an SGD step of a train-time MobileOne on one random batch,
/// with the k conv branches of a block run stacked (one convolution), separately, or both alternately.
/// </summary>
public static class TrainingThroughput
{
    /// <summary>Branch modes <see cref="Run"/> accepts: <c>stacked</c>, <c>separate</c> or <c>both</c>.</summary>
    public static readonly IReadOnlyList<string> BranchModes = ["stacked", "separate", "both"];

    /// <summary>Measures training steps of <paramref name="config"/>; <paramref name="progress"/> hears what runs.</summary>
    public static TrainingThroughputReport Run(MobileOneConfig config, BenchSettings s, bool bf16, string branches, Action<string> progress)
    {
        if (!BranchModes.Contains(branches)) throw new MobileOneException($"unknown branch mode '{branches}'; expected {string.Join(", ", BranchModes)}");
        var dtype = bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        string[] modes = branches == "both" ? ["stacked", "separate"] : [branches];
        var nets = new List<MobileOneModel>();
        var sgds = new List<Sgd>();
        using var x = randn(s.Batch, config.InChannels, s.Height, s.Width, generator: new Generator(1)).to(dtype);
        using var y = randint(config.NumClasses, [s.Batch], generator: new Generator(2));
        try
        {
            var steps = modes.Select(mode => Prepare(config, mode, dtype, nets, sgds, x, y)).ToList();
            var report = new TrainingThroughputReport(MobileOneVariants.NameOf(config)?.ToUpperInvariant() ?? "custom", bf16 ? "bf16" : "fp32", modes, s, [], 0);
            progress($"measuring training steps of {report.Model} ({report.Precision}, {string.Join(" and ", modes)} branches): batch {s.Batch}, {s.Height}x{s.Width}, {s.Threads} thread(s), " +
                     $"{s.Warmup} warm-up + {s.Runs} timed steps" + (modes.Length > 1 ? ", alternating in blocks of 5" : ""));
            var stats = LatencyBenchmark.MeasureInterleaved(steps, s.Warmup, s.Runs, s.Batch, blockSize: 5);
            return report with { Stats = stats, PeakMiB = ProcessMemory.PeakMiB() };
        }
        finally
        {
            foreach (var sgd in sgds) sgd.Dispose();
            foreach (var net in nets) net.Dispose();
        }
    }

    // A fresh model (the same weights for every mode) and its optimiser; returns its timed step.
    private static Func<float[]> Prepare(MobileOneConfig config, string mode, ScalarType dtype, List<MobileOneModel> nets, List<Sgd> sgds, Tensor x, Tensor y)
    {
        manual_seed(0);
        var net = new MobileOneModel(config);
        nets.Add(net);
        foreach (var (_, block) in net.Blocks()) block.StackBranches = mode == "stacked";
        if (dtype != ScalarType.Float32) net.to(dtype);
        net.train();
        var sgd = new Sgd(net.named_parameters()) { LearningRate = 0.01, WeightDecay = 1e-4 };
        sgds.Add(sgd);
        return () => [Step(net, sgd, x, y)];
    }

    /// <summary>One training step as training runs take it (<see cref="TrainingStep"/>): label-smoothed cross-entropy; returns the loss.</summary>
    private static float Step(MobileOneModel net, Sgd sgd, Tensor x, Tensor y) =>
        (float)TrainingStep.Take(sgd, () => LabelSmoothing.CrossEntropy(net.forward(x), y, 0.1));
}

/// <summary>The result of <see cref="TrainingThroughput"/>: lines of text or JSON.</summary>
/// <param name="Model">Variant name (upper case) or <c>custom</c>.</param>
/// <param name="Precision"><c>fp32</c> or <c>bf16</c>.</param>
/// <param name="Modes">Branch modes measured, in order.</param>
/// <param name="Settings">How they were measured.</param>
/// <param name="Stats">Step-time statistics per mode.</param>
/// <param name="PeakMiB">Peak resident memory of the process.</param>
public sealed record TrainingThroughputReport(string Model, string Precision, IReadOnlyList<string> Modes, BenchSettings Settings, IReadOnlyList<LatencyStats> Stats, double PeakMiB)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One object for one mode, an array when both ran.</summary>
    public string ToJson()
    {
        var s = Settings;
        var rows = Modes.Select((mode, i) => new Dictionary<string, object>
        {
            ["model"] = Model, ["precision"] = Precision, ["branches"] = mode, ["batch"] = s.Batch, ["input_size"] = new[] { s.Height, s.Width }, ["threads"] = s.Threads,
            ["steps"] = s.Runs, ["min_ms"] = Stats[i].MinMs, ["median_ms"] = Stats[i].MedianMs, ["p90_ms"] = Stats[i].P90Ms, ["mean_ms"] = Stats[i].MeanMs,
            ["images_per_s"] = Stats[i].Throughput, ["peak_rss_mib"] = PeakMiB,
        }).ToArray();
        return rows.Length == 1 ? JsonSerializer.Serialize(rows[0]) : JsonSerializer.Serialize(rows);
    }

    /// <summary>A line per mode, their ratio when both ran, and peak memory.</summary>
    public IEnumerable<string> TextLines()
    {
        var s = Settings;
        for (int i = 0; i < Modes.Count; i++)
            yield return string.Format(Inv, "{0} {1} training step, {2} branches, batch {3}, {4}x{5}: median {6:F0} ms (min {7:F0}), {8:F1} img/s",
                Model, Precision, Modes[i], s.Batch, s.Height, s.Width, Stats[i].MedianMs, Stats[i].MinMs, Stats[i].Throughput);
        if (Modes.Count > 1)
            yield return string.Format(Inv, "stacked / separate step time (medians): {0:F2}", Stats[0].MedianMs / Stats[1].MedianMs);
        yield return string.Format(Inv, "peak memory {0:F0} MiB", PeakMiB);
    }
}
