using System.Globalization;
using System.Text.Json;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Reparameterization;

namespace MobileOne.Benchmarks;

/// <summary>
/// S0-S4 side by side: each variant fused and unfused, on each engine, and on ONNX Runtime also fused and quantised
/// to int8, its targets measured alternately; parameters, MACs, medians, the speed-up of the fold and that of int8 over the fused fp32 model.
/// </summary>
public static class VariantComparison
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Measures every variant on <paramref name="engines"/> (<c>onnx</c>, <c>torch</c>). <paramref name="progress"/>
    /// hears which variant runs; <paramref name="line"/>, when given, receives the table as it grows.
    /// Returns the whole comparison as one JSON object.
    /// </summary>
    public static string Run(BenchSettings s, IReadOnlyList<string> engines, Action<string> progress, Action<string>? line)
    {
        var rows = new List<Dictionary<string, object?>>();
        var input = s.RandomInput();
        if (line is not null) foreach (var l in Header(s, engines)) line(l);
        foreach (var name in MobileOneVariants.Names)
        {
            progress($"measuring {name.ToUpperInvariant()}...");
            var (row, text) = Variant(name, s, engines, input);
            rows.Add(row);
            line?.Invoke(text);
        }
        return JsonSerializer.Serialize(new { threads = s.Threads, batch = s.Batch, input_size = new[] { s.Height, s.Width }, runs = s.Runs, warmup = s.Warmup, rows });
    }

    private static IEnumerable<string> Header(BenchSettings s, IReadOnlyList<string> engines)
    {
        yield return $"median latency (ms), batch {s.Batch}, {s.Height}x{s.Width}, {s.Threads} thread(s), {s.Runs} runs after {s.Warmup} warm-up, targets alternating in blocks of 10 runs per variant";
        yield return string.Format(Inv, "{0,-4} {1,12} {2,14}", "", "params", "MACs")
                     + string.Concat(engines.Select(e => string.Format(Inv, " {0,14} {1,14} {2,8}", $"{e} fused", $"{e} unfused", "speed-up")
                                                         + (HasInt8(e) ? string.Format(Inv, " {0,14} {1,8}", $"{e} int8", "int8 x") : "")));
    }

    // One variant: its JSON row and its table line.
    private static (Dictionary<string, object?> Row, string Line) Variant(string name, BenchSettings s, IReadOnlyList<string> engines, float[] input)
    {
        var config = MobileOneVariants.Get(name);
        using var unfusedNet = new MobileOneModel(config);
        unfusedNet.eval();
        using var fusedNet = Reparameterizer.Fuse(unfusedNet);
        var stats = Measure(name, fusedNet, unfusedNet, s, engines, input);
        var profile = ModelProfile.Compute(config, s.Height, s.Width);
        var row = new Dictionary<string, object?> { ["variant"] = name, ["params_fused"] = profile.ParamsFused, ["params_unfused"] = profile.ParamsUnfused, ["macs_fused"] = profile.MacsFused };
        var text = string.Format(Inv, "{0,-4} {1,12:N0} {2,14:N0}", name.ToUpperInvariant(), profile.ParamsFused, profile.MacsFused);
        int k = 0;
        foreach (var e in engines)
        {
            var (f, u) = (stats[k++], stats[k++]);
            row[$"{e}_fused_median_ms"] = f.MedianMs;
            row[$"{e}_fused_min_ms"] = f.MinMs;
            row[$"{e}_unfused_median_ms"] = u.MedianMs;
            row[$"{e}_unfused_min_ms"] = u.MinMs;
            row[$"{e}_speedup"] = u.MedianMs / f.MedianMs;
            text += string.Format(Inv, " {0,14:F2} {1,14:F2} {2,7:F2}x", f.MedianMs, u.MedianMs, u.MedianMs / f.MedianMs);
            if (!HasInt8(e)) continue;
            var q = stats[k++];
            row[$"{e}_int8_median_ms"] = q.MedianMs;
            row[$"{e}_int8_min_ms"] = q.MinMs;
            row[$"{e}_int8_speedup"] = f.MedianMs / q.MedianMs;
            text += string.Format(Inv, " {0,14:F2} {1,7:F2}x", q.MedianMs, f.MedianMs / q.MedianMs);
        }
        if (s.GemmGflops is double g) row["sgemm_gflops"] = g;
        return (row, text);
    }

    // ONNX Runtime has int8 kernels; TorchSharp's eager CPU path has none.
    private static bool HasInt8(string engine) => engine == "onnx";

    // Fused, unfused and (ONNX Runtime) int8 per engine, all alternating.
    private static IReadOnlyList<LatencyStats> Measure(string name, MobileOneModel fusedNet, MobileOneModel unfusedNet, BenchSettings s, IReadOnlyList<string> engines, float[] input)
    {
        var targets = new List<BenchTarget>();
        try
        {
            foreach (var e in engines)
            {
                targets.Add(BenchTarget.Create($"{name} fused", fusedNet, e, s));
                targets.Add(BenchTarget.Create($"{name} unfused", unfusedNet, e, s));
                if (HasInt8(e)) targets.Add(BenchTarget.Int8($"{name} fused", fusedNet, s));
            }
            return s.MeasureInterleaved(targets.Select(t => t.Engine), input);
        }
        finally
        {
            // The torch engines share the two models, which the caller disposes.
            foreach (var x in targets) if (x.Engine is OnnxEngine o) o.Dispose();
        }
    }
}
