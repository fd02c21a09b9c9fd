using MobileOne.Benchmarks;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Zoo;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Study;

/// <summary>
/// Counts and times a set of networks with the <c>bench</c> protocol (batch 1, pre-allocated input,
/// warm-up, then runs alternating between networks in re-warmed blocks of ten, so machine noise hits
/// all alike). Every network gets the same seeded random weights.
/// </summary>
public static class StudyBench
{
    /// <summary>One network's counts and latency.</summary>
    /// <param name="Counts">Parameters and MACs at the measured size.</param>
    /// <param name="Latency">Batch-1 latency.</param>
    public sealed record Result(NetworkCost.Counts Counts, LatencyStats Latency);

    /// <summary>Builds each network, counts it, puts it behind <paramref name="backend"/>, and measures all of them interleaved.</summary>
    public static IReadOnlyList<Result> Measure(IReadOnlyList<(string Name, Func<nn.Module<Tensor, Tensor>> Create)> networks,
        InferenceBackend backend, int threads, int warmup, int runs, int height = 224, int width = 224, Action<string>? log = null)
    {
        var engines = new List<IInferenceEngine>();
        var counts = new List<NetworkCost.Counts>();
        try
        {
            foreach (var (name, create) in networks)
            {
                log?.Invoke($"preparing {name} ({backend.ToString().ToLowerInvariant()}, {threads} thread(s))");
                var net = create();
                WeightInit.Reset(net, 0);
                counts.Add(NetworkCost.Measure(net, height, width));
                engines.Add(StudyEngine.Create(net, backend, threads, height, width, name));
                // ONNX Runtime holds its own copy of the weights.
                if (backend == InferenceBackend.Onnx) net.Dispose();
            }
            var input = StudyEngine.RandomInput(1, height, width);
            var targets = engines.Select(e => e.Prepare(input, 1, height, width)).ToList();
            log?.Invoke($"timing {networks.Count} networks: {warmup} warm-up + {runs} runs each, alternating in blocks of 10");
            var stats = LatencyBenchmark.MeasureInterleaved(targets, warmup, runs, 1, done => log?.Invoke($"  {done}/{runs} runs"));
            return counts.Select((c, i) => new Result(c, stats[i])).ToList();
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
        }
    }
}
