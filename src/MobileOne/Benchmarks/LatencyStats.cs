namespace MobileOne.Benchmarks;

/// <summary>Summary of timed round trips, in milliseconds.</summary>
public sealed record LatencyStats(double MinMs, double MedianMs, double P90Ms, double MeanMs, double StdMs, int Runs, int Batch)
{
    /// <summary>Images per second at the median latency.</summary>
    public double Throughput => Batch * 1000.0 / MedianMs;

    /// <summary>Summarises raw timings (milliseconds).</summary>
    public static LatencyStats From(IReadOnlyList<double> timesMs, int batch)
    {
        if (timesMs.Count == 0) throw new ArgumentException("no timings");
        var sorted = timesMs.Order().ToArray();
        double mean = sorted.Average();
        double std = Math.Sqrt(sorted.Sum(t => (t - mean) * (t - mean)) / sorted.Length);
        return new LatencyStats(sorted[0], Percentile(sorted, 0.5), Percentile(sorted, 0.9), mean, std, sorted.Length, batch);
    }

    /// <summary>Linear-interpolated percentile of sorted data (numpy's default).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
