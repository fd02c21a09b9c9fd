using System.Globalization;
using System.Text;
using System.Text.Json;
using MobileOne.IO;

namespace MobileOne.Study;

/// <summary>Writes the study's tables (markdown and JSON) and scatter plots into a folder, atomically.</summary>
public static class StudyReport
{
    /// <summary>The latency study on one engine and thread count.</summary>
    public sealed record LatencyRun(string Engine, int Threads, IReadOnlyList<StudyRow> Rows, IReadOnlyList<CorrelationResult> Correlations);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes latency.md, latency.json and two plots per run; returns the markdown.</summary>
    public static string WriteLatency(string dir, IReadOnlyList<LatencyRun> runs, string machine, int timedRuns)
    {
        var md = new StringBuilder();
        md.AppendLine("# Latency against MACs and parameters").AppendLine();
        md.AppendLine(Inv, $"Machine: {machine}. Batch 1, 224x224, median of {timedRuns} runs (networks alternating in blocks of 10).").AppendLine();
        foreach (var run in runs)
        {
            string tag = $"{run.Engine}_{run.Threads}t";
            md.AppendLine(Inv, $"## {run.Engine}, {run.Threads} thread(s)").AppendLine();
            md.AppendLine("| network | params (M) | MACs (M) | median ms | min ms | p90 ms |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in run.Rows.OrderBy(r => r.Latency.MedianMs))
                md.AppendLine(Inv, $"| {(r.Highlight ? $"**{r.Name}**" : r.Name)} | {r.Params / 1e6:F2} | {r.Macs / 1e6:F0} | {r.Latency.MedianMs:F3} | {r.Latency.MinMs:F3} | {r.Latency.P90Ms:F3} |");
            md.AppendLine();
            md.AppendLine("| latency vs | Spearman rho [95 % CI] | Kendall tau-b [95 % CI] | paper (iPhone 12, Spearman) |");
            md.AppendLine("|---|---|---|---:|");
            foreach (var c in run.Correlations)
                md.AppendLine(Inv, $"| {c.Metric} | {c.Spearman:F3} [{c.SpearmanLow:F2}, {c.SpearmanHigh:F2}] | {c.Kendall:F3} [{c.KendallLow:F2}, {c.KendallHigh:F2}] | {c.PaperMobile:F2} |");
            md.AppendLine();
            md.AppendLine(Inv, $"![latency vs MACs](latency_vs_macs_{tag}.png) ![latency vs params](latency_vs_params_{tag}.png)").AppendLine();
            var label = $"{run.Engine}, {run.Threads} thread(s)";
            StudyPlot.Scatter(Path.Combine(dir, $"latency_vs_macs_{tag}.png"), $"Latency vs MACs ({label})", "MACs (millions)", "median latency (ms)",
                run.Rows.Select(r => new StudyPoint(r.Name, r.Macs / 1e6, r.Latency.MedianMs, r.Highlight)).ToList(), logX: true, logY: true);
            StudyPlot.Scatter(Path.Combine(dir, $"latency_vs_params_{tag}.png"), $"Latency vs parameters ({label})", "parameters (millions)", "median latency (ms)",
                run.Rows.Select(r => new StudyPoint(r.Name, r.Params / 1e6, r.Latency.MedianMs, r.Highlight)).ToList(), logX: true, logY: true);
        }
        var json = new
        {
            Machine = machine,
            TimedRuns = timedRuns,
            Runs = runs.Select(r => new
            {
                r.Engine, r.Threads,
                Networks = r.Rows.Select(x => new { x.Name, x.Family, x.Params, x.Macs, MedianMs = x.Latency.MedianMs, MinMs = x.Latency.MinMs, P90Ms = x.Latency.P90Ms }),
                Correlations = r.Correlations,
            }),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, "latency.json"), JsonSerializer.Serialize(json, Json));
        AtomicFile.WriteAllText(Path.Combine(dir, "latency.md"), md.ToString());
        return md.ToString();
    }

    /// <summary>Writes FILE.md and FILE.json for a probe study (activations or blocks); returns the markdown.</summary>
    public static string WriteProbe(string dir, string name, string file, string engine, int threads, IReadOnlyList<ProbeStudy.Row> rows, string machine, int timedRuns)
    {
        var md = new StringBuilder();
        md.AppendLine(Inv, $"# The {ProbeNetwork.Depth}-layer probe network: {name}").AppendLine();
        md.AppendLine(Inv, $"Machine: {machine}. {engine}, {threads} thread(s), batch 1, 224x224, median of {timedRuns} runs (variants alternating in blocks of 10).").AppendLine();
        md.AppendLine("| variant | params (M) | MACs (M) | median ms | min ms | ratio | paper iPhone 12 ms | paper ratio |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        double? paperBase = rows[0].Variant.PaperMs;
        foreach (var r in rows)
        {
            string paper = r.Variant.PaperMs is double p ? p.ToString("F2", Inv) : "-";
            string paperRatio = r.Variant.PaperMs is double q && paperBase is double b ? (q / b).ToString("F2", Inv) : "-";
            md.AppendLine(Inv, $"| {r.Variant.Name} | {r.Params / 1e6:F2} | {r.Macs / 1e6:F0} | {r.Latency.MedianMs:F3} | {r.Latency.MinMs:F3} | {r.Ratio:F2} | {paper} | {paperRatio} |");
        }
        var json = new
        {
            Study = name, Machine = machine, Engine = engine, Threads = threads, TimedRuns = timedRuns,
            Variants = rows.Select(r => new
            {
                r.Variant.Name, Activation = r.Variant.Activation.ToString(), Block = r.Variant.Block.ToString(), r.Params, r.Macs,
                MedianMs = r.Latency.MedianMs, MinMs = r.Latency.MinMs, r.Ratio, PaperMs = r.Variant.PaperMs,
            }),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, $"{file}.json"), JsonSerializer.Serialize(json, Json));
        AtomicFile.WriteAllText(Path.Combine(dir, $"{file}.md"), md.ToString());
        return md.ToString();
    }
}
