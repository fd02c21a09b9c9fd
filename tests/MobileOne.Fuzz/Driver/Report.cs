using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MobileOne.Fuzz.Driver;

/// <summary>The campaign's results as <c>summary.json</c>, <c>summary.md</c> and the table printed at the end.</summary>
public sealed class Report(
    FuzzOptions options, List<LoaderTally> loaders, List<FailureGroup> failures, List<string> seedCheck, List<string> generatorErrors,
    double seconds, double fuzzSeconds, int workerStarts, double workerStartSeconds)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes <c>summary.json</c> and <c>summary.md</c> into <paramref name="outDir"/>.</summary>
    public void Write(string outDir)
    {
        var json = new
        {
            seed = options.Seed,
            inputs = loaders.Sum(l => l.Inputs),
            seconds = Math.Round(seconds, 1),
            fuzz_seconds = Math.Round(fuzzSeconds, 1),
            workers = options.Workers,
            worker_starts = workerStarts,
            worker_start_seconds = Math.Round(workerStartSeconds, 1),
            cut_short = options.MaxSeconds > 0 && loaders.Sum(l => l.Inputs) < options.Inputs,
            timeout_ms = options.TimeoutMs,
            memory_mb = options.MemoryMb,
            loaders = loaders.Select(l => new
            {
                loader = l.Loader,
                inputs = l.Inputs,
                outcomes = l.Outcomes,
                max_ms = Math.Round(l.MaxMs, 1),
                mean_ms = Math.Round(l.TotalMs / Math.Max(1, l.Inputs - l.Outcomes["hang"]), 2),
                max_mb = Math.Round(l.MaxMb, 1),
                max_allocated_mb = Math.Round(l.MaxAllocatedMb, 1),
                wrong_refusals = l.WrongRefusals,
                large_allocations = l.LargeAllocations,
                wrong_acceptances = l.WrongAcceptances,
                strategies = l.Strategies.ToDictionary(s => s.Key, s => new { inputs = s.Value[0], failures = s.Value[1] }),
            }),
            failures = Ordered().Select(f => new
            {
                loader = f.Loader, outcome = f.Outcome, exception = f.ExceptionType, where = f.Where, message = Signature.Printable(f.Message), count = f.Count,
                strategies = f.Strategies, mutations = f.Mutations.Select(Signature.Printable), reproducers = f.Reproducers,
            }),
            seed_check = seedCheck.Select(Signature.Printable),
            generator_errors = generatorErrors.Select(Signature.Printable),
        };
        File.WriteAllText(Path.Combine(outDir, "summary.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(outDir, "summary.md"), Markdown());
    }

    private static bool IsNote(FailureGroup f) => f.Outcome is "wrong-refusal" or "wrong-acceptance" or "large-allocation";

    private IEnumerable<FailureGroup> Ordered() =>
        failures.OrderBy(IsNote).ThenBy(f => f.Loader).ThenBy(f => f.Outcome).ThenByDescending(f => f.Count);

    /// <summary>The per-loader table, with a total row.</summary>
    public string Table()
    {
        var s = new StringBuilder();
        s.AppendLine("| loader | inputs | refused | accepted | other exception | hang | crash | memory | max ms | max MB | max alloc MB |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in loaders) s.AppendLine(Row(l.Loader, [l], bold: false));
        s.AppendLine(Row("**all**", loaders, bold: true));
        return s.ToString();
    }

    private static string Row(string name, List<LoaderTally> ls, bool bold)
    {
        string N(string outcome) => ls.Sum(l => l.Outcomes[outcome]).ToString("N0", Inv);
        var cells = new[]
        {
            ls.Sum(l => l.Inputs).ToString("N0", Inv), N("refused"), N("accepted"), N("other-exception"), N("hang"), N("crash"), N("memory"),
            ls.Max(l => l.MaxMs).ToString("N0", Inv), ls.Max(l => l.MaxMb).ToString("N0", Inv), ls.Max(l => l.MaxAllocatedMb).ToString("N0", Inv),
        };
        return $"| {name} | " + string.Join(" | ", bold ? cells.Select(c => $"**{c}**") : cells) + " |";
    }

    private string Markdown()
    {
        var s = new StringBuilder();
        int inputs = loaders.Sum(l => l.Inputs);
        s.AppendLine("# Fuzz campaign");
        s.AppendLine();
        s.AppendLine(Inv, $"Seed {options.Seed}, {inputs:N0} inputs in {seconds:F0} s ({fuzzSeconds:F0} s fuzzing, {inputs / Math.Max(fuzzSeconds, 1e-9):F1} inputs/s) " +
                          $"on {options.Workers} worker(s); {workerStarts} worker start(s) took {workerStartSeconds:F0} s. Time limit {options.TimeoutMs:N0} ms and " +
                          $"resident memory cap {options.MemoryMb:N0} MB per input.");
        if (options.MaxSeconds > 0 && inputs < options.Inputs)
            s.AppendLine().AppendLine(Inv, $"**Cut short** by --max-seconds {options.MaxSeconds}: {inputs:N0} of {options.Inputs:N0} inputs were run.");
        s.AppendLine();
        s.Append(Table());
        s.AppendLine();
        s.AppendLine("Max ms is the longest input that finished (hangs are counted apart); max MB the largest peak resident memory of the worker " +
                     "during one input (its baseline of about 200 MB with LibTorch, ONNX Runtime and SkiaSharp loaded included); max alloc MB the " +
                     "largest managed allocation of one input, touched or not.");
        s.AppendLine();
        s.AppendLine("Mean time per finished input: " + string.Join(", ", loaders.Select(l =>
            $"{l.Loader} {l.TotalMs / Math.Max(1, l.Inputs - l.Outcomes["hang"]):F1} ms")) + ".");
        if (seedCheck.Count > 0)
        {
            s.AppendLine().AppendLine("## Seeds not accepted").AppendLine();
            foreach (var l in seedCheck) s.AppendLine($"- {Signature.Printable(l)}");
        }
        if (generatorErrors.Count > 0)
        {
            s.AppendLine().AppendLine("## Harness errors (inputs not generated)").AppendLine();
            foreach (var l in generatorErrors.Take(20)) s.AppendLine($"- {Signature.Printable(l)}");
        }
        s.AppendLine().AppendLine("## Distinct failures").AppendLine();
        if (!failures.Any(f => !IsNote(f))) s.AppendLine("None.").AppendLine();
        bool notes = false;
        foreach (var f in Ordered())
        {
            if (IsNote(f) && !notes)
            {
                notes = true;
                s.AppendLine("## Notes (not failures)").AppendLine();
                s.AppendLine("wrong-refusal: refused, but not with the exception the mutation requires (a pickle naming a forbidden callable must be refused as unsafe). " +
                             "wrong-acceptance: loaded, although the mutation makes the file unreadable (a view outside its storage, dimensions the data cannot fill): " +
                             "a silent wrong answer. large-allocation: finished under the cap, but allocated over 256 MB and 1,000 times the file's size.").AppendLine();
            }
            Group(s, f);
        }
        return s.ToString();
    }

    private static void Group(StringBuilder s, FailureGroup f)
    {
        s.AppendLine(Inv, $"### {f.Loader}: {f.Outcome}{(f.ExceptionType is null ? "" : $" ({f.ExceptionType})")}, {f.Count:N0} input(s)");
        s.AppendLine();
        s.AppendLine($"- message: `{Signature.Printable(f.Message).Replace('`', '\'')}`");
        if (f.Where is not null) s.AppendLine($"- where: `{f.Where}`");
        s.AppendLine($"- strategies: {string.Join(", ", f.Strategies.OrderByDescending(k => k.Value).Select(k => $"{k.Key} ({k.Value})"))}");
        foreach (var m in f.Mutations.Take(3)) s.AppendLine($"- mutation: {Signature.Printable(m)}");
        if (f.Reproducers.Count > 0) s.AppendLine($"- reproducers: {string.Join(", ", f.Reproducers.Select(r => $"`{r}`"))}");
        s.AppendLine();
    }
}
