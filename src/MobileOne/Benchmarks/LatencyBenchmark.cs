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
    /// Times several targets alternately, in blocks of <paramref name="blockSize"/> runs (each block
    /// preceded by one untimed run that brings the target's weights back into cache), so that load from
    /// other processes and frequency changes affect all targets alike: ratios measured this way are fair.
    /// </summary>
    public static IReadOnlyList<LatencyStats> MeasureInterleaved(IReadOnlyList<Func<float[]>> targets, int warmup, int runs, int batch,
        Action<int>? progress = null, int blockSize = 10)
    {
        if (warmup < 0) throw new MobileOneException($"warmup must be 0 or more, found {warmup}");
        if (runs < 1) throw new MobileOneException($"runs must be at least 1, found {runs}");
        if (blockSize < 1) throw new MobileOneException($"block size must be at least 1, found {blockSize}");
        foreach (var t in targets)
            for (int i = 0; i < warmup; i++) t();
        var times = targets.Select(_ => new double[runs]).ToArray();
        var sw = new Stopwatch();
        for (int start = 0; start < runs; start += blockSize)
        {
            int end = Math.Min(start + blockSize, runs);
            for (int j = 0; j < targets.Count; j++)
            {
                if (targets.Count > 1) targets[j]();
                for (int i = start; i < end; i++)
                {
                    sw.Restart();
                    var logits = targets[j]();
                    sw.Stop();
                    times[j][i] = sw.Elapsed.TotalMilliseconds;
                    GC.KeepAlive(logits);
                }
            }
            progress?.Invoke(end);
        }
        return times.Select(t => LatencyStats.From(t, batch)).ToArray();
    }
}
