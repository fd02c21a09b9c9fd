using System.Diagnostics;

namespace MobileOne.Benchmarks;

/// <summary>
/// The paper's latency protocol: the model is loaded and the input allocated beforehand, warm-up runs
/// are discarded, then every timed run is a full round trip from input to logits in host memory.
/// </summary>
public static class LatencyBenchmark
{
    /// <summary>Times one target.</summary>
    public static LatencyStats Measure(Func<float[]> run, int warmup, int runs, int batch, Action<int>? progress = null) =>
        MeasureInterleaved([run], warmup, runs, batch, progress)[0];

    /// <summary>
    /// Times several targets alternately (run i of each, then run i + 1 of each), so that load from
    /// other processes and frequency changes affect them alike: ratios measured this way are fair.
    /// </summary>
    public static IReadOnlyList<LatencyStats> MeasureInterleaved(IReadOnlyList<Func<float[]>> targets, int warmup, int runs, int batch, Action<int>? progress = null)
    {
        if (warmup < 0) throw new MobileOneException($"warmup must be 0 or more, found {warmup}");
        if (runs < 1) throw new MobileOneException($"runs must be at least 1, found {runs}");
        for (int i = 0; i < warmup; i++)
            foreach (var t in targets) t();
        var times = targets.Select(_ => new double[runs]).ToArray();
        var sw = new Stopwatch();
        for (int i = 0; i < runs; i++)
        {
            for (int j = 0; j < targets.Count; j++)
            {
                sw.Restart();
                var logits = targets[j]();
                sw.Stop();
                times[j][i] = sw.Elapsed.TotalMilliseconds;
                GC.KeepAlive(logits);
            }
            progress?.Invoke(i + 1);
        }
        return times.Select(t => LatencyStats.From(t, batch)).ToArray();
    }
}
