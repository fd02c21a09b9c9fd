using System.Globalization;
using System.Text.Json;

namespace MobileOne.Benchmarks;

/// <summary>One measured target.</summary>
/// <param name="Name">Display name.</param>
/// <param name="Engine">Engine name (<c>onnx</c>, <c>torch</c>).</param>
/// <param name="Stats">Latency statistics.</param>
/// <param name="Efficiency">Fraction of the SGEMM ceiling reached, when measured.</param>
/// <param name="Macs">MACs of the fused model, when the architecture is known.</param>
public sealed record LatencyRow(string Name, string Engine, LatencyStats Stats, double? Efficiency, long? Macs);

/// <summary>The result of <see cref="ModelBenchmark"/>: a table or one JSON object.</summary>
/// <param name="Rows">The targets in the order measured; ratios are to the first.</param>
/// <param name="Settings">How they were measured.</param>
/// <param name="PeakMiB">Peak resident memory of the process.</param>
public sealed record LatencyReport(IReadOnlyList<LatencyRow> Rows, BenchSettings Settings, double PeakMiB)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One JSON object: the row for one target, else the rows and their ratios of medians.</summary>
    public string ToJson()
    {
        var result = Rows.Count == 1 ? Row(Rows[0]) : new Dictionary<string, object?>
        {
            ["results"] = Rows.Select(Row).ToArray(),
            ["ratio_of_medians"] = Rows.Select(r => r.Stats.MedianMs / Rows[0].Stats.MedianMs).ToArray(),
        };
        if (Settings.GemmGflops is double g) result["sgemm_gflops"] = g;
        return JsonSerializer.Serialize(result);
    }

    private Dictionary<string, object?> Row(LatencyRow r) => new()
    {
        ["model"] = r.Name, ["engine"] = r.Engine, ["threads"] = Settings.Threads, ["batch"] = r.Stats.Batch, ["input_size"] = new[] { Settings.Height, Settings.Width },
        ["runs"] = r.Stats.Runs, ["min_ms"] = r.Stats.MinMs, ["median_ms"] = r.Stats.MedianMs, ["p90_ms"] = r.Stats.P90Ms, ["mean_ms"] = r.Stats.MeanMs, ["std_ms"] = r.Stats.StdMs,
        ["throughput_per_s"] = r.Stats.Throughput, ["peak_rss_mib"] = PeakMiB, ["macs"] = r.Macs, ["fraction_of_sgemm_peak"] = r.Efficiency,
    };

    /// <summary>The table: statistics per target, the share of the SGEMM ceiling, ratios of medians, peak memory.</summary>
    public IEnumerable<string> TextLines()
    {
        yield return string.Format(Inv, "{0,-36} {1,9} {2,9} {3,9} {4,9} {5,10}", "model", "min ms", "median", "p90", "mean", "img/s");
        foreach (var r in Rows)
        {
            var s = r.Stats;
            yield return string.Format(Inv, "{0,-36} {1,9:F3} {2,9:F3} {3,9:F3} {4,9:F3} {5,10:F1}", r.Name, s.MinMs, s.MedianMs, s.P90Ms, s.MeanMs, s.Throughput);
            if (r.Efficiency is double e)
                yield return string.Format(Inv, "  {0:P1} of the {1:F1} GFLOP/s SGEMM ceiling ({2:F3} ms at that rate)", e, Settings.GemmGflops, s.MedianMs * e);
        }
        foreach (var r in Rows.Skip(1))
            yield return string.Format(Inv, "ratio of medians {0} / {1}: {2:F3}", r.Name, Rows[0].Name, r.Stats.MedianMs / Rows[0].Stats.MedianMs);
        yield return string.Format(Inv, "peak resident memory of the process: {0:F0} MiB", PeakMiB);
    }
}
