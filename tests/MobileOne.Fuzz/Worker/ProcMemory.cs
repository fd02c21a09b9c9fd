using System.Runtime.InteropServices;

namespace MobileOne.Fuzz.Worker;

/// <summary>Resident memory of a process from <c>/proc</c>, and the means to reset and give back the worker's own.</summary>
public static partial class ProcMemory
{
    /// <summary>A field of <c>/proc/PID/status</c> in KiB (VmRSS, VmHWM), or 0 when it cannot be read.</summary>
    public static long StatusKb(string pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal) && line.Length > field.Length && line[field.Length] == ':')
                    return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // The process is gone, or /proc is not Linux's.
        }
        return 0;
    }

    /// <summary>Resets this process's peak resident size (VmHWM) to its current size.</summary>
    public static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Collects the managed heap and returns free native heap pages to the system.</summary>
    public static void GiveBack()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
