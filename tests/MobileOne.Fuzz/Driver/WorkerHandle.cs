using System.Collections.Concurrent;
using System.Diagnostics;
using MobileOne.Fuzz.Worker;

namespace MobileOne.Fuzz.Driver;

/// <summary>What the driver saw for one input.</summary>
/// <param name="Outcome">The classified outcome.</param>
/// <param name="Reply">The worker's reply, when it gave one.</param>
/// <param name="Ms">Load time (the worker's measure, or the driver's for a hang or crash).</param>
/// <param name="PeakKb">Largest resident size seen, by the worker's VmHWM or the driver's polling.</param>
/// <param name="Note">Why the driver decided a hang, crash or memory outcome, with the worker's last stderr lines.</param>
public sealed record RunResult(Outcome Outcome, WorkerReply? Reply, double Ms, long PeakKb, string? Note);

/// <summary>
/// One worker child process, seen from the driver: starts it, hands it inputs, and watches each for its
/// reply, its time limit, its resident memory (/proc/PID/status, polled every 20 ms) and its death.
/// </summary>
public sealed partial class WorkerHandle : IDisposable
{
    private const int PollMs = 20;
    private const int StderrLines = 60;

    private readonly FuzzOptions options;
    private Process? process;
    private BlockingCollection<WorkerReply> replies = [];
    private readonly ConcurrentQueue<string> stderr = new();
    private readonly ConcurrentQueue<string> fatal = new();
    private Thread? stderrReader;

    /// <summary>Prepares a worker; it starts on first use.</summary>
    public WorkerHandle(FuzzOptions options) => this.options = options;

    /// <summary>Worker processes started so far (restarts included).</summary>
    public int Starts { get; private set; }

    /// <summary>Time spent starting workers, in seconds.</summary>
    public double StartSeconds { get; private set; }

    private void Start()
    {
        var clock = Stopwatch.StartNew();
        var start = SelfCommand();
        start.ArgumentList.Add("worker");
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        // The managed heap is capped at the memory cap: a managed allocation above it fails at once, as an
        // OutOfMemoryException the worker reports, instead of racing the driver's polling.
        start.Environment["DOTNET_GCHeapHardLimit"] = $"0x{(long)options.MemoryMb << 20:x}";
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["OMP_NUM_THREADS"] = "1";
        // ONNX Runtime's arena is capped at half the memory cap (the default, 4 GiB, is above the campaign's
        // 2 GB): what is checked is that the cap holds, so a runaway graph fails inside it.
        start.Environment["MOBILEONE_MAX_RUNTIME_MB"] = $"{Math.Min(options.MemoryMb / 2, 4095)}";
        process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the worker process");
        Starts++;
        replies = [];
        stderr.Clear();
        fatal.Clear();
        var p = process;
        var queue = replies;
        new Thread(() => ReadReplies(p, queue)) { IsBackground = true, Name = "worker-stdout" }.Start();
        stderrReader = new Thread(() => ReadStderr(p)) { IsBackground = true, Name = "worker-stderr" };
        stderrReader.Start();
        if (!queue.TryTake(out var ready, TimeSpan.FromSeconds(120)) || ready.Outcome != Protocol.Ready)
            throw new InvalidOperationException($"the worker did not start: {string.Join(" | ", stderr.TakeLast(10))}");
        StartSeconds += clock.Elapsed.TotalSeconds;
    }

    /// <summary>How to run this same program: its app host, or <c>dotnet</c> with its assembly.</summary>
    public static ProcessStartInfo SelfCommand()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(typeof(WorkerHandle).Assembly.Location);
        return start;
    }

    private static void ReadReplies(Process p, BlockingCollection<WorkerReply> queue)
    {
        try
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
                if (Protocol.TryParse(line) is { } reply) queue.Add(reply);
        }
        catch (IOException) { }
        finally { queue.CompleteAdding(); }
    }

    private void ReadStderr(Process p)
    {
        try
        {
            string? line;
            int keep = 0;
            while ((line = p.StandardError.ReadLine()) is not null)
            {
                if (line.Length > 300) line = line[..300] + "...";
                stderr.Enqueue(line);
                while (stderr.Count > StderrLines) stderr.TryDequeue(out _);
                // The first fatal message and the lines after it, which a long stack dump would push out of the tail.
                if (fatal.IsEmpty && IsFatal(line)) keep = 30;
                if (keep > 0 && keep-- > 0) fatal.Enqueue(line);
            }
        }
        catch (IOException) { }
    }

    /// <summary>Runs one input and classifies what happened; restarts the worker after a hang, crash or blow-up.</summary>
    public RunResult Run(string loader, string path)
    {
        if (process is null || process.HasExited) Start();
        var p = process!;
        var queue = replies;
        try
        {
            p.StandardInput.WriteLine($"{loader}\t{path}");
            p.StandardInput.Flush();
        }
        catch (IOException)
        {
            return Died(p, 0, 0);
        }
        var clock = Stopwatch.StartNew();
        long peakKb = 0;
        string pid = p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        while (true)
        {
            if (queue.TryTake(out var reply, PollMs)) return Classify(reply, peakKb);
            long rss = ProcMemory.StatusKb(pid, "VmRSS");
            peakKb = Math.Max(peakKb, rss);
            if (queue.IsCompleted || p.HasExited) return Died(p, clock.Elapsed.TotalMilliseconds, peakKb);
            if (rss > (long)options.MemoryMb << 10)
                return Kill(Outcome.Memory, clock.Elapsed.TotalMilliseconds, peakKb, $"resident memory {rss / 1024:N0} MB above the {options.MemoryMb:N0} MB cap");
            if (clock.ElapsedMilliseconds > options.TimeoutMs)
                return Kill(Outcome.Hang, clock.Elapsed.TotalMilliseconds, peakKb, $"no answer after {options.TimeoutMs:N0} ms");
        }
    }

    private RunResult Classify(WorkerReply reply, long polledKb)
    {
        long peak = Math.Max(polledKb, reply.PeakKb);
        var outcome = Outcomes.Parse(reply.Outcome);
        string? note = null;
        if (outcome == Outcome.Memory)
            note = $"{reply.ExceptionType}: {reply.Message} (the managed heap is capped at {options.MemoryMb:N0} MB)";
        else if (peak > (long)options.MemoryMb << 10)
        {
            note = $"peak resident memory {peak / 1024:N0} MB above the {options.MemoryMb:N0} MB cap (the load finished as {reply.Outcome})";
            outcome = Outcome.Memory;
        }
        // Memory the worker could not give back would be charged to the next inputs: start afresh.
        if (reply.RssAfterKb > (long)options.MemoryMb << 9) Stop();
        return new RunResult(outcome, reply, reply.Ms, peak, note);
    }

    private RunResult Kill(Outcome outcome, double ms, long peakKb, string note)
    {
        Stop();
        return new RunResult(outcome, null, ms, peakKb, note);
    }

    private RunResult Died(Process p, double ms, long peakKb)
    {
        p.WaitForExit(5000);
        stderrReader?.Join(2000);
        int code = p.HasExited ? p.ExitCode : -1;
        string signal = code > 128 && code < 160 ? $" (signal {SignalName(code - 128)})" : "";
        var lines = fatal.IsEmpty ? stderr.TakeLast(8) : fatal;
        var note = $"worker exited with code {code}{signal}; stderr: {Condense(lines)}";
        p.Dispose();
        process = null;
        return new RunResult(Outcome.Crash, null, ms, peakKb, note);
    }

    // A stack dump made readable: generic arguments dropped, runs of one frame counted, at most eight lines.
    private static string Condense(IEnumerable<string> lines)
    {
        var kept = new List<(string Line, int Count)>();
        foreach (var raw in lines)
        {
            var line = GenericArguments().Replace(raw.Trim(), "");
            if (line.Length == 0 || line.StartsWith("---", StringComparison.Ordinal)) continue;
            if (kept.Count > 0 && kept[^1].Line == line) kept[^1] = (line, kept[^1].Count + 1);
            else kept.Add((line, 1));
        }
        return string.Join(" | ", kept.Take(8).Select(k => k.Count > 1 ? $"{k.Line} (x{k.Count})" : k.Line));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\[\[.*?\]\]|`\d")]
    private static partial System.Text.RegularExpressions.Regex GenericArguments();

    private static bool IsFatal(string line) =>
        line.Contains("Stack overflow", StringComparison.Ordinal) || line.Contains("Unhandled exception", StringComparison.Ordinal)
        || line.Contains("Fatal error", StringComparison.Ordinal) || line.Contains("terminate called", StringComparison.Ordinal)
        || line.Contains("Segmentation", StringComparison.Ordinal) || line.Contains("Out of memory", StringComparison.OrdinalIgnoreCase);

    private static string SignalName(int signal) => signal switch
    {
        4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE", 9 => "SIGKILL", 11 => "SIGSEGV", 15 => "SIGTERM", _ => signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Kills the worker (it is restarted on the next input).</summary>
    public void Stop()
    {
        if (process is null) return;
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        process.Dispose();
        process = null;
    }

    /// <summary>Closes the worker's stdin (it exits), or kills it.</summary>
    public void Dispose()
    {
        if (process is null) return;
        try
        {
            process.StandardInput.Close();
            if (!process.WaitForExit(5000)) Stop();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { Stop(); }
        process?.Dispose();
        process = null;
    }
}
