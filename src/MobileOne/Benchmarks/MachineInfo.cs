using System.Runtime.InteropServices;

namespace MobileOne.Benchmarks;

/// <summary>What a latency figure was measured on: CPU model, logical cores, OS and runtime.</summary>
public static class MachineInfo
{
    /// <summary>One line, e.g. "Intel(R) Xeon(R) ... (2 logical cores), Debian GNU/Linux 12, .NET 10.0.0".</summary>
    public static string Describe()
    {
        string cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) cpu = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{cpu} ({Environment.ProcessorCount} logical cores), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }
}
