using MobileOne.Benchmarks;
using MobileOne.Inference;

namespace MobileOne.Study;

/// <summary>The cost of activations and of architectural blocks, measured on <see cref="ProbeNetwork"/>.</summary>
public static class ProbeStudy
{
    /// <summary>One probe variant's latency and its ratio to the first variant (ReLU / plain).</summary>
    public sealed record Row(ProbeVariant Variant, long Params, long Macs, LatencyStats Latency, double Ratio);

    /// <summary>Times every variant, alternating between them.</summary>
    public static IReadOnlyList<Row> Measure(IReadOnlyList<ProbeVariant> variants, InferenceBackend backend, int threads, int warmup, int runs,
        Action<string>? log = null)
    {
        var results = StudyBench.Measure(variants.Select(v => (v.Name, (Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>)(() => ProbeNetwork.Create(v)))).ToList(),
            backend, threads, warmup, runs, log: log);
        return variants.Select((v, i) => new Row(v, results[i].Counts.Params, results[i].Counts.Macs, results[i].Latency, results[i].Latency.MedianMs / results[0].Latency.MedianMs)).ToList();
    }
}
