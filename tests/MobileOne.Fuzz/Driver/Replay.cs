namespace MobileOne.Fuzz.Driver;

/// <summary>Runs saved inputs through a worker exactly as the campaign did, one line per file.</summary>
public static class Replay
{
    /// <summary>Replays <see cref="FuzzOptions.Replay"/>; returns 0 when none failed.</summary>
    public static int Run(FuzzOptions options)
    {
        var loader = options.Loaders[0];
        using var worker = new WorkerHandle(options);
        int failed = 0;
        foreach (var file in options.Replay)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"fuzz: no such file: {file}");
                failed++;
                continue;
            }
            var r = worker.Run(loader, path);
            if (r.Outcome.IsFailure()) failed++;
            var what = r.Reply?.ExceptionType is { } type ? $"{type}: {r.Reply.Message}" : r.Note ?? "";
            Console.WriteLine($"{file}: {r.Outcome.Name()} in {r.Ms:F0} ms, peak {r.PeakKb / 1024.0:F0} MB, allocated {(r.Reply?.AllocatedKb ?? 0) / 1024.0:F0} MB{(what.Length > 0 ? ": " + what : "")}");
        }
        return failed == 0 ? 0 : 1;
    }
}
