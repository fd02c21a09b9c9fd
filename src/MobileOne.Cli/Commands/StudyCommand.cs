using System.CommandLine;
using MobileOne.Benchmarks;
using MobileOne.Inference;
using MobileOne.Study;
using MobileOne.Zoo;
using TorchSharp;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone study latency|activations|blocks</c>: the paper's metric study (Section 3) on this machine.</summary>
internal static class StudyCommand
{
    private sealed record Common(Option<string[]> Engine, Option<int[]> Threads, Option<int> Runs, Option<int> Warmup, Option<DirectoryInfo> Out);

    public static Command Create(CliConsole console)
    {
        var study = new Command("study", "The paper's metric study on this machine: latency vs MACs and parameters across the zoo, and the cost of activations and blocks.");
        study.Add(Latency(console));
        study.Add(Probe(console, "activations", "Latency of the 30-layer probe network with each activation (ReLU, GELU, SiLU, Hardswish, SE-ReLU, ...).", ProbeVariant.Activations));
        study.Add(Probe(console, "blocks", "Latency of the 30-layer probe network plain, with skip connections, with SE, and with unfused and folded multi-branch blocks.", ProbeVariant.Blocks));
        return study;
    }

    private static Common AddCommon(Command command, int defaultRuns)
    {
        var engine = new Option<string[]>("--engine") { Description = "onnx (ONNX Runtime) and/or torch (TorchSharp eager); repeat for both. [default: onnx]", AllowMultipleArgumentsPerToken = true };
        engine.AcceptOnlyFromAmong("onnx", "torch");
        var threads = new Option<int[]>("--threads") { Description = "Intra-op threads; repeat for several (e.g. --threads 1 --threads 2). [default: 1]", AllowMultipleArgumentsPerToken = true };
        var runs = new Option<int>("--runs") { Description = "Timed runs per network.", DefaultValueFactory = _ => defaultRuns };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs per network first.", DefaultValueFactory = _ => 10 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the tables (markdown, JSON) and plots.", DefaultValueFactory = _ => new DirectoryInfo("runs/study") };
        foreach (var o in new Option[] { engine, threads, runs, warmup, output }) command.Add(o);
        CliValidation.AtLeast(runs, 3);
        CliValidation.AtLeast(warmup, 0);
        threads.Validators.Add(r =>
        {
            foreach (var t in r.GetValueOrDefault<int[]>() ?? []) if (t < 1) r.AddError($"--threads must be at least 1, found {t}");
        });
        return new Common(engine, threads, runs, warmup, output);
    }

    private static IEnumerable<(InferenceBackend Backend, string Name, int Threads)> Configurations(ParseResult parsed, Common c)
    {
        var engines = parsed.GetValue(c.Engine) is { Length: > 0 } e ? e.Distinct() : ["onnx"];
        var threads = parsed.GetValue(c.Threads) is { Length: > 0 } t ? t.Distinct() : [1];
        foreach (var engine in engines)
            foreach (var n in threads)
                yield return (engine == "torch" ? InferenceBackend.Torch : InferenceBackend.Onnx, engine, n);
    }

    // LibTorch's thread count is process-wide: put it back for whatever runs next in this process.
    private static T WithThreads<T>(int threads, Func<T> work)
    {
        int before = torch.get_num_threads();
        torch.set_num_threads(threads);
        try { return work(); }
        finally { torch.set_num_threads(before); }
    }

    private static Command Latency(CliConsole console)
    {
        var command = new Command("latency", "Benchmark every zoo network (bench protocol, alternating) and correlate latency with MACs and parameters (Spearman, Kendall, bootstrap CI); writes latency.md/.json and scatter plots.");
        var common = AddCommon(command, 100);
        var only = new Option<string[]>("--only") { Description = "Measure only these zoo networks (at least 3).", AllowMultipleArgumentsPerToken = true };
        command.Add(only);
        command.SetAction(parsed =>
        {
            var entries = parsed.GetValue(only) is { Length: > 0 } names ? names.Select(NetworkZoo.Get).Distinct().ToList() : NetworkZoo.Entries.ToList();
            if (entries.Count < 3) throw new MobileOneException($"a rank correlation needs at least 3 networks, --only gave {entries.Count}");
            int runs = parsed.GetValue(common.Runs), warmup = parsed.GetValue(common.Warmup);
            var dir = parsed.GetValue(common.Out)!.FullName;
            var results = new List<StudyReport.LatencyRun>();
            foreach (var (backend, name, threads) in Configurations(parsed, common))
            {
                var rows = WithThreads(threads, () => LatencyStudy.Measure(entries, backend, threads, warmup, runs, console.Error.WriteLine));
                results.Add(new StudyReport.LatencyRun(name, threads, rows, LatencyStudy.Correlate(rows)));
            }
            console.Out.Write(StudyReport.WriteLatency(dir, results, MachineInfo.Describe(), runs));
            console.Error.WriteLine($"wrote {Path.Combine(dir, "latency.md")}, latency.json and the plots");
            return 0;
        });
        return command;
    }

    private static Command Probe(CliConsole console, string name, string description, IReadOnlyList<ProbeVariant> variants)
    {
        var command = new Command(name, description + $" Writes {name}.md and {name}.json.");
        var common = AddCommon(command, 100);
        command.SetAction(parsed =>
        {
            int runs = parsed.GetValue(common.Runs), warmup = parsed.GetValue(common.Warmup);
            var dir = parsed.GetValue(common.Out)!.FullName;
            var text = new List<string>();
            foreach (var (backend, engine, threads) in Configurations(parsed, common))
            {
                var rows = WithThreads(threads, () => ProbeStudy.Measure(variants, backend, threads, warmup, runs, console.Error.WriteLine));
                var file = $"{name}_{engine}_{threads}t";
                text.Add(StudyReport.WriteProbe(dir, name, file, engine, threads, rows, MachineInfo.Describe(), runs));
                console.Error.WriteLine($"wrote {Path.Combine(dir, file + ".md")} and .json");
            }
            console.Out.Write(string.Join(Environment.NewLine, text));
            return 0;
        });
        return command;
    }
}
