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

    /// <summary>
    /// <paramref name="net"/> exported in memory, quantised to int8 (per-channel weights, min-max ranges from
    /// <paramref name="calibrationSamples"/> seeded random inputs: latency does not depend on the ranges) and run by ONNX Runtime.
    /// </summary>
    public static BenchTarget Int8(string name, MobileOneModel net, BenchSettings s, int calibrationSamples = 4)
    {
        var floatModel = OnnxExporter.ToBytes(net, new OnnxExportOptions { InputHeight = s.Height, InputWidth = s.Width });
        var random = (s with { Batch = calibrationSamples }).RandomInput(net.Config.InChannels);
        var set = Quantization.CalibrationSet.FromArray(random, net.Config.InChannels, s.Height, s.Width, "seeded random inputs");
        var (int8, _) = Quantization.OnnxQuantizer.Quantize(floatModel, set, new Quantization.QuantizationOptions { Samples = calibrationSamples, CheckSamples = 1 }, name);
        return new BenchTarget($"{name} (onnx int8)", new OnnxEngine(int8, s.Threads, name), net.Config);
    }

    /// <summary>Fraction of the SGEMM ceiling the model reaches at this median latency; null without a ceiling or an architecture.</summary>
    public double? Efficiency(LatencyStats stats, BenchSettings s) =>
        s.GemmGflops is double g && Config is not null
            ? 2.0 * ModelProfile.Compute(Config, s.Height, s.Width).MacsFused * stats.Batch / (g * 1e9) / (stats.MedianMs / 1000.0)
            : null;
}
