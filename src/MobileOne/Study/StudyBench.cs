using MobileOne.Benchmarks;
using MobileOne.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Study;

/// <summary>
/// Times a set of networks with the <c>bench</c> protocol (batch 1, pre-allocated input, warm-up, then
/// runs alternating between networks in re-warmed blocks of ten, so machine noise hits all alike).
/// </summary>
public static class StudyBench
{
    /// <summary>Builds each network, puts it behind <paramref name="backend"/>, and measures all of them interleaved.</summary>
    public static IReadOnlyList<LatencyStats> Measure(IReadOnlyList<(string Name, Func<nn.Module<Tensor, Tensor>> Create)> networks,
        InferenceBackend backend, int threads, int warmup, int runs, int height = 224, int width = 224, Action<string>? log = null)
    {
        var engines = new List<IInferenceEngine>();
        try
        {
            foreach (var (name, create) in networks)
            {
                log?.Invoke($"preparing {name} ({backend.ToString().ToLowerInvariant()}, {threads} thread(s))");
                var net = create();
                engines.Add(StudyEngine.Create(net, backend, threads, height, width, name));
                // ONNX Runtime holds its own copy of the weights.
                if (backend == InferenceBackend.Onnx) net.Dispose();
            }
            var input = StudyEngine.RandomInput(1, height, width);
            var targets = engines.Select(e => e.Prepare(input, 1, height, width)).ToList();
            log?.Invoke($"timing {networks.Count} networks: {warmup} warm-up + {runs} runs each, alternating in blocks of 10");
            return LatencyBenchmark.MeasureInterleaved(targets, warmup, runs, 1,
                done => log?.Invoke($"  {done}/{runs} runs"));
        }
        finally
        {
            foreach (var e in engines) e.Dispose();
        }
    }
}
