namespace MobileOne.Benchmarks;

/// <summary>How a latency or throughput benchmark runs.</summary>
/// <param name="Threads">Intra-op threads.</param>
/// <param name="Batch">Batch size.</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
/// <param name="Warmup">Untimed runs first.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="GemmGflops">The SGEMM ceiling measured on the same threads (<see cref="GemmPeak"/>), if any: each model is then compared to it.</param>
public sealed record BenchSettings(int Threads, int Batch, int Height, int Width, int Warmup, int Runs, double? GemmGflops = null)
{
    /// <summary>A seeded random input batch [Batch, <paramref name="channels"/>, Height, Width], flattened.</summary>
    internal float[] RandomInput(int channels = 3)
    {
        using var x = TorchSharp.torch.randn(Batch, channels, Height, Width, generator: new TorchSharp.torch.Generator(0));
        return x.data<float>().ToArray();
    }

    /// <summary>Prepares every engine's run on <paramref name="input"/>, then measures them alternately.</summary>
    internal IReadOnlyList<LatencyStats> MeasureInterleaved(IEnumerable<Inference.IInferenceEngine> engines, float[] input) =>
        LatencyBenchmark.MeasureInterleaved(engines.Select(e => e.Prepare(input, Batch, Height, Width)).ToList(), Warmup, Runs, Batch);
}
