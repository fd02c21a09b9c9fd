using System.Diagnostics;
using MobileOne.Fuzz.Mutation;
using MobileOne.Fuzz.Targets;

namespace MobileOne.Fuzz.Driver;

/// <summary>
/// A fuzzing campaign: builds the seeds, makes each input from (seed, index) alone, runs the inputs on
/// one or two worker processes, tallies the outcomes, saves reproducers and writes the summaries.
/// </summary>
public sealed class Campaign
{
    private readonly FuzzOptions options;
    private readonly Dictionary<string, LoaderTally> tallies = [];
    private readonly Dictionary<string, FailureGroup> failures = [];
    private readonly Dictionary<string, int> reproNumbers = [];
    private readonly List<string> generatorErrors = [];
    private readonly object sync = new();
    private StreamWriter? log;
    private int done;

    // Managed allocation of one input above which it is listed (not failed) when it is also 1000 times the file.
    private const long LargeAllocation = 256L << 20;

    /// <summary>Creates a campaign.</summary>
    public Campaign(FuzzOptions options) => this.options = options;

    /// <summary>Runs the campaign; returns 0 when no input failed.</summary>
    public int Run()
    {
        var clock = Stopwatch.StartNew();
        var outDir = Path.GetFullPath(options.Out);
        var workDir = PrepareFolders(outDir);
        var targets = options.Loaders.Select(FuzzTarget.Get).ToList();
        var plans = BuildPlans(targets, workDir);
        Console.Error.WriteLine($"fuzz: seeds ready in {clock.Elapsed.TotalSeconds:F1} s ({string.Join(", ", plans.Select(p => $"{p.Key} {p.Value.Seeds.Count}"))}); " +
                                $"{options.Inputs:N0} inputs on {options.Workers} worker(s), seed {options.Seed}");

        // One line per input, for looking into what was accepted or refused, not only what failed.
        log = new StreamWriter(Path.Combine(outDir, "inputs.tsv"));
        log.WriteLine("index\tloader\tstrategy\toutcome\texception\tms\tpeak_mb\tmutation\tmessage");
        var workers = Enumerable.Range(0, options.Workers).Select(_ => new WorkerHandle(options)).ToList();
        var seedCheck = CheckSeeds(workers[0], plans, Path.Combine(workDir, "w0"));
        var fuzzing = Stopwatch.StartNew();
        RunInputs(workers, targets, plans, workDir, outDir, fuzzing);
        foreach (var w in workers) w.Dispose();
        log.Dispose();
        Directory.Delete(workDir, recursive: true);

        var report = new Report(options, tallies.Values.ToList(), failures.Values.ToList(), seedCheck, generatorErrors,
            clock.Elapsed.TotalSeconds, fuzzing.Elapsed.TotalSeconds, workers.Sum(w => w.Starts), workers.Sum(w => w.StartSeconds));
        report.Write(outDir);
        Console.Out.Write(report.Table());
        Console.Error.WriteLine($"fuzz: {done:N0} inputs in {clock.Elapsed.TotalSeconds:F0} s; summary in {Path.Combine(outDir, "summary.md")}");
        return tallies.Values.Any(t => t.Failures > 0) ? 1 : 0;
    }

    // The output folder, emptied of a previous run's inputs and reproducers; returns the folder for inputs in flight.
    private static string PrepareFolders(string outDir)
    {
        Directory.CreateDirectory(outDir);
        foreach (var sub in new[] { "work", "repro" })
        {
            var dir = Path.Combine(outDir, sub);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        return Path.Combine(outDir, "work");
    }

    private Dictionary<string, FuzzPlan> BuildPlans(List<FuzzTarget> targets, string workDir)
    {
        var plans = new Dictionary<string, FuzzPlan>();
        using var factory = new SeedFactory(Path.Combine(workDir, "seeds"));
        foreach (var t in targets)
        {
            plans[t.Name] = t.Prepare(factory);
            tallies[t.Name] = new LoaderTally { Loader = t.Name };
        }
        return plans;
    }

    // One driver thread per worker; input i goes to loader i mod L, whichever worker is free takes it.
    private void RunInputs(List<WorkerHandle> workers, List<FuzzTarget> targets, Dictionary<string, FuzzPlan> plans, string workDir, string outDir, Stopwatch fuzzing)
    {
        using var stop = new CancellationTokenSource();
        new Thread(() => Progress(fuzzing, stop.Token)) { IsBackground = true }.Start();
        int next = -1;
        var threads = workers.Select((w, k) => new Thread(() =>
        {
            var dir = Path.Combine(workDir, $"w{k}");
            Directory.CreateDirectory(dir);
            int i;
            while ((i = Interlocked.Increment(ref next)) < options.Inputs)
            {
                if (options.MaxSeconds > 0 && fuzzing.Elapsed.TotalSeconds > options.MaxSeconds) break;
                var target = targets[i % targets.Count];
                RunInput(w, target, plans[target.Name], i, dir, outDir);
            }
        }) { Name = $"driver-{k}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        stop.Cancel();
    }

    // Every unmutated seed once, so that a seed the library refuses (a harness bug, or a regression) shows.
    private static List<string> CheckSeeds(WorkerHandle worker, Dictionary<string, FuzzPlan> plans, string dir)
    {
        Directory.CreateDirectory(dir);
        var lines = new List<string>();
        foreach (var (loader, plan) in plans)
            foreach (var seed in plan.Seeds)
            {
                var path = Path.Combine(dir, "in" + seed.Extension);
                File.WriteAllBytes(path, seed.Data);
                var r = worker.Run(loader, path);
                if (r.Outcome != Outcome.Accepted)
                    lines.Add($"{loader} {seed.Detail}: {r.Outcome.Name()} {r.Reply?.ExceptionType} {r.Reply?.Message ?? r.Note}");
                File.Delete(path);
            }
        foreach (var l in lines) Console.Error.WriteLine($"fuzz: seed not accepted: {l}");
        return lines;
    }

    private void RunInput(WorkerHandle worker, FuzzTarget target, FuzzPlan plan, int index, string dir, string outDir)
    {
        var rng = RandomExtensions.ForInput(options.Seed, index);
        var strategy = rng.PickWeighted(plan.Strategies);
        Mutant mutant;
        try { mutant = strategy.Apply(rng); }
        catch (Exception e)
        {
            lock (sync) generatorErrors.Add($"input {index} ({target.Name}/{strategy.Name}): {e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
            Interlocked.Increment(ref done);
            return;
        }
        var path = Path.Combine(dir, "in" + mutant.Extension);
        File.WriteAllBytes(path, mutant.Data);
        var result = worker.Run(target.Name, path);
        File.Delete(path);
        try
        {
            lock (sync) Record(target.Name, index, mutant, result, outDir);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            lock (sync) generatorErrors.Add($"input {index} ({target.Name}/{strategy.Name}): recording failed: {e.GetType().Name}: {e.Message}");
        }
        Interlocked.Increment(ref done);
    }

    private void Record(string loader, int index, Mutant mutant, RunResult r, string outDir)
    {
        log!.WriteLine(string.Join('\t', index, loader, mutant.Strategy, r.Outcome.Name(), r.Reply?.ExceptionType ?? "", Math.Round(r.Ms, 1), r.PeakKb >> 10,
            Tsv(mutant.Detail), Tsv(r.Reply?.Message ?? r.Note ?? "")));
        var t = tallies[loader];
        Count(t, mutant, r);
        if (r.Outcome.IsFailure()) Group(loader, r.Outcome.Name(), index, mutant, r, outDir);
        else if (r.Outcome == Outcome.Refused && mutant.ExpectedRefusal is { } expected && expected != Mutant.AnyRefusal && r.Reply?.ExceptionType != expected)
        {
            t.WrongRefusals++;
            Group(loader, "wrong-refusal", index, mutant, r with { Note = $"expected {expected}" }, outDir);
        }
        else if (r.Outcome == Outcome.Accepted && mutant.ExpectedRefusal is not null)
        {
            t.WrongAcceptances++;
            Group(loader, "wrong-acceptance", index, mutant, r with { Note = "loaded without complaint, but the file cannot be read correctly" }, outDir);
        }
        // Not a failure (the memory stayed under the cap, often untouched), but a file that makes the loader
        // allocate hundreds of times its size before refusing it is worth a look.
        long allocated = (r.Reply?.AllocatedKb ?? 0) << 10;
        if (!r.Outcome.IsFailure() && allocated > Math.Max(LargeAllocation, 1000L * mutant.Data.Length))
        {
            t.LargeAllocations++;
            Group(loader, "large-allocation", index, mutant, r with { Note = $"allocated {allocated >> 20:N0} MB for a {mutant.Data.Length:N0}-byte file ({r.Outcome.Name()})" }, outDir);
        }
    }

    private static void Count(LoaderTally t, Mutant mutant, RunResult r)
    {
        t.Inputs++;
        t.Outcomes[r.Outcome.Name()]++;
        if (r.Outcome != Outcome.Hang)
        {
            t.MaxMs = Math.Max(t.MaxMs, r.Ms);
            t.TotalMs += r.Ms;
        }
        t.MaxMb = Math.Max(t.MaxMb, r.PeakKb / 1024.0);
        t.MaxAllocatedMb = Math.Max(t.MaxAllocatedMb, (r.Reply?.AllocatedKb ?? 0) / 1024.0);
        if (!t.Strategies.TryGetValue(mutant.Strategy, out var s)) t.Strategies[mutant.Strategy] = s = new int[2];
        s[0]++;
        if (r.Outcome.IsFailure()) s[1]++;
    }

    private void Group(string loader, string outcome, int index, Mutant mutant, RunResult r, string outDir)
    {
        var reply = r.Reply;
        string message = outcome is "large-allocation" or "wrong-refusal" or "wrong-acceptance"
            ? r.Note + (reply?.Message is { } m ? ": " + m : "")
            : reply?.Message ?? r.Note ?? "";
        var key = GroupKey(loader, outcome, mutant, r);
        if (!failures.TryGetValue(key, out var g))
            failures[key] = g = new FailureGroup { Loader = loader, Outcome = outcome, ExceptionType = reply?.ExceptionType, Where = reply?.Where, Message = message };
        g.Count++;
        g.Strategies[mutant.Strategy] = g.Strategies.GetValueOrDefault(mutant.Strategy) + 1;
        if (g.Mutations.Count < 5) g.Mutations.Add(mutant.Detail);
        if (g.Reproducers.Count < options.ReprosPerFailure) g.Reproducers.Add(SaveReproducer(loader, outcome, index, mutant, r, outDir));
    }

    // One bug, one group: by exception type, library frame and message shape when there is an exception; a crash
    // by its fatal line and frame; hangs and blow-ups, which say nothing, by the strategy that made them.
    private static string GroupKey(string loader, string outcome, Mutant mutant, RunResult r) =>
        outcome is "large-allocation" or "wrong-acceptance" ? $"{loader}|{outcome}|{r.Reply?.Where}|{mutant.Strategy}"
        : r.Reply?.ExceptionType is { } type ? $"{loader}|{outcome}|{type}|{r.Reply.Where}|{Signature.Normalize(r.Reply.Message)}"
        : outcome == "crash" ? $"{loader}|{outcome}|{Signature.Crash(r.Note)}"
        : $"{loader}|{outcome}|{mutant.Strategy}";

    private string SaveReproducer(string loader, string outcome, int index, Mutant mutant, RunResult r, string outDir)
    {
        var dir = Path.Combine(outDir, "repro", loader);
        Directory.CreateDirectory(dir);
        int n = reproNumbers[$"{loader}/{outcome}"] = reproNumbers.GetValueOrDefault($"{loader}/{outcome}") + 1;
        var name = $"{outcome}-{n:D3}{mutant.Extension}";
        File.WriteAllBytes(Path.Combine(dir, name), mutant.Data);
        var lines = new List<string>
        {
            $"loader: {loader}",
            $"outcome: {outcome}",
            $"exception: {r.Reply?.ExceptionType ?? "-"}",
            $"message: {r.Reply?.Message ?? "-"}",
            $"where: {r.Reply?.Where ?? "-"}",
            $"note: {r.Note ?? "-"}",
            $"time: {r.Ms:F0} ms, peak resident {r.PeakKb / 1024.0:F0} MB, managed allocation {(r.Reply?.AllocatedKb ?? 0) / 1024.0:F0} MB",
            $"strategy: {mutant.Strategy}",
            $"mutation: {mutant.Detail}",
            $"input: #{index} of the campaign with --seed {options.Seed}",
            $"replay: dotnet run -c Release --project tests/MobileOne.Fuzz -- replay --loader {loader} {Path.Combine(dir, name)}",
        };
        File.WriteAllLines(Path.Combine(dir, Path.GetFileNameWithoutExtension(name) + ".txt"), lines.Select(Signature.Printable));
        return Path.GetRelativePath(outDir, Path.Combine(dir, name));
    }

    private static string Tsv(string s)
    {
        s = Signature.Printable(s.Replace('\t', ' '));
        return s.Length > 300 ? s[..300] + "..." : s;
    }

    private void Progress(Stopwatch clock, CancellationToken stop)
    {
        while (!stop.WaitHandle.WaitOne(5000))
        {
            string counts;
            lock (sync)
                counts = string.Join(", ", Outcomes.All.Select(o => $"{o.Name()} {tallies.Values.Sum(t => t.Outcomes[o.Name()])}"));
            double rate = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            Console.Error.WriteLine($"fuzz: {done:N0}/{options.Inputs:N0} inputs, {rate:F1}/s, {clock.Elapsed.TotalSeconds:F0} s: {counts}");
        }
    }
}
