using System.Diagnostics;
using MobileOne.Fuzz.Targets;
using SkiaSharp;
using TorchSharp;

namespace MobileOne.Fuzz.Worker;

/// <summary>
/// The child process: reads <c>LOADER&lt;TAB&gt;PATH</c> lines on stdin, runs each loader on the main thread
/// (the one a deep recursion would overflow in the CLI too), and answers one protocol line per input.
/// </summary>
public static class WorkerMain
{
    private const long GiveBackAboveKb = 512 * 1024;

    // Set from any thread (a library may allocate on a pool thread); read once the input is done.
    private static volatile bool outOfMemory;

    /// <summary>Runs the worker until stdin closes; returns the exit code.</summary>
    public static int Run()
    {
        using var protocol = new StreamWriter(StdoutGuard.TakeStdout()) { AutoFlush = true, NewLine = "\n" };
        // An OutOfMemoryException means the input asked for more than the heap limit (the memory cap), even
        // when the library catches it and reports something else.
        AppDomain.CurrentDomain.FirstChanceException += (_, e) => { if (e.Exception is OutOfMemoryException) outOfMemory = true; };
        WarmUp();
        protocol.WriteLine(Protocol.Format(new WorkerReply(Protocol.Ready)));
        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            var parts = line.Split('\t', 2);
            if (parts.Length != 2) continue;
            protocol.WriteLine(Protocol.Format(RunOne(FuzzTarget.Get(parts[0]), parts[1])));
        }
        return 0;
    }

    // Loads the native libraries before the first input, so that their start-up is not timed as a slow input.
    private static void WarmUp()
    {
        torch.set_num_threads(1);
        using (var t = torch.zeros(1)) { }
        using (var b = new SKBitmap(1, 1)) { }
        _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
    }

    private static WorkerReply RunOne(FuzzTarget target, string path)
    {
        ProcMemory.ResetPeak();
        outOfMemory = false;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Outcome outcome;
        Exception? error = null;
        try
        {
            using var scope = torch.NewDisposeScope();
            target.Run(path);
            outcome = Outcome.Accepted;
        }
        catch (MobileOneException e) { error = e; outcome = Outcome.Refused; }
        catch (OutOfMemoryException e) { error = e; outcome = Outcome.Memory; }
        catch (Exception e) { error = e; outcome = Outcome.OtherException; }
        double ms = clock.Elapsed.TotalMilliseconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        if (outOfMemory) outcome = Outcome.Memory;
        long peak = ProcMemory.StatusKb("self", "VmHWM");
        if (ProcMemory.StatusKb("self", "VmRSS") > GiveBackAboveKb) ProcMemory.GiveBack();
        return new WorkerReply(outcome.Name(), error?.GetType().FullName, FirstLine(error?.Message), Where(error), Math.Round(ms, 2), peak,
            ProcMemory.StatusKb("self", "VmRSS"), allocated / 1024);
    }

    private static string? FirstLine(string? message)
    {
        if (message is null) return null;
        var first = message.Split('\n')[0].Trim();
        return first.Length > 400 ? first[..400] + "..." : first;
    }

    // The innermost frame in the library itself: where a fix would go.
    private static string? Where(Exception? e)
    {
        if (e is null) return null;
        var library = typeof(MobileOneException).Assembly;
        foreach (var frame in new StackTrace(e, fNeedFileInfo: false).GetFrames())
        {
            var method = frame.GetMethod();
            if (method?.DeclaringType?.Assembly == library)
                return $"{method.DeclaringType.FullName}.{method.Name}";
        }
        return null;
    }
}
