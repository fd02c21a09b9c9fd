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
        var counts = variants.Select(v =>
        {
            using var net = ProbeNetwork.Create(v);
            return Zoo.NetworkCost.Measure(net);
        }).ToList();
        var stats = StudyBench.Measure(variants.Select(v => (v.Name, (Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>)(() => Seeded(v)))).ToList(),
            backend, threads, warmup, runs, log: log);
        return variants.Select((v, i) => new Row(v, counts[i].Params, counts[i].Macs, stats[i], stats[i].MedianMs / stats[0].MedianMs)).ToList();
    }

    private static Zoo.ZooNetwork Seeded(ProbeVariant v)
    {
        var net = ProbeNetwork.Create(v);
        Models.WeightInit.Reset(net, 0);
        net.eval();
        return net;
    }
}
