using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Benchmarks;

/// <summary>
/// The machine's practical float32 compute ceiling: GFLOP/s of a large matrix product (LibTorch's
/// SGEMM) on the configured threads. A network's MACs x 2 / this rate is the latency it would have if
/// every layer ran at GEMM efficiency.
/// </summary>
public static class GemmPeak
{
    /// <summary>Median GFLOP/s of <paramref name="runs"/> n x n x n products.</summary>
    public static double Measure(int n = 2048, int runs = 10)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n);
        var b = randn(n, n);
        using (var warm = a.mm(b)) { }
        var rates = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using var c = a.mm(b);
            sw.Stop();
            rates.Add(2.0 * n * n * n / sw.Elapsed.TotalSeconds / 1e9);
        }
        return LatencyStats.Percentile(rates.Order().ToArray(), 0.5);
    }
}
