namespace MobileOne.Benchmarks;

/// <summary>Resident memory of this process (Linux /proc; elsewhere the runtime's peak working set).</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size so far, in MiB.</summary>
    public static double PeakMiB()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    // "VmHWM:<tabs or spaces>N kB": the padding vanishes once N fills the column.
                    return long.Parse(new string(line.Where(char.IsAsciiDigit).ToArray())) / 1024.0;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
