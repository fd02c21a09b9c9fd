using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Models;

namespace MobileOne.Benchmarks;

/// <summary>A model under measurement: its display name, the engine that runs it, and its architecture when known (for MACs).</summary>
internal sealed record BenchTarget(string Name, IInferenceEngine Engine, MobileOneConfig? Config)
{
    /// <summary>
    /// <paramref name="net"/> run by TorchSharp (<paramref name="engine"/> "torch") or, exported in memory
    /// at the benchmark's size, by ONNX Runtime ("onnx").
    /// </summary>
    public static BenchTarget Create(string name, MobileOneModel net, string engine, BenchSettings s) => engine == "torch"
        ? new BenchTarget($"{name} (torch)", new TorchEngine(net, s.Threads), net.Config)
        : new BenchTarget($"{name} (onnx)", new OnnxEngine(OnnxExporter.ToBytes(net, new OnnxExportOptions { InputHeight = s.Height, InputWidth = s.Width }), s.Threads, name), net.Config);

    /// <summary>Fraction of the SGEMM ceiling the model reaches at this median latency; null without a ceiling or an architecture.</summary>
    public double? Efficiency(LatencyStats stats, BenchSettings s) =>
        s.GemmGflops is double g && Config is not null
            ? 2.0 * ModelProfile.Compute(Config, s.Height, s.Width).MacsFused * stats.Batch / (g * 1e9) / (stats.MedianMs / 1000.0)
            : null;
}
