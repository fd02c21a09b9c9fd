using System.Text.RegularExpressions;

namespace MobileOne.Fuzz.Driver;

/// <summary>The counts of one loader.</summary>
public sealed class LoaderTally
{
    /// <summary>Loader name.</summary>
    public required string Loader { get; init; }

    /// <summary>Inputs run.</summary>
    public int Inputs { get; set; }

    /// <summary>Inputs per outcome (kebab-case names).</summary>
    public Dictionary<string, int> Outcomes { get; init; } = MobileOne.Fuzz.Outcomes.All.ToDictionary(o => o.Name(), _ => 0);

    /// <summary>Longest time of a single input that finished (hangs are counted apart), in ms.</summary>
    public double MaxMs { get; set; }

    /// <summary>Largest peak resident memory of a single input, in MiB.</summary>
    public double MaxMb { get; set; }

    /// <summary>Largest managed allocation of a single input (touched or not), in MiB.</summary>
    public double MaxAllocatedMb { get; set; }

    /// <summary>Inputs per strategy, and how many of them failed.</summary>
    public Dictionary<string, int[]> Strategies { get; init; } = [];

    /// <summary>Inputs refused, but not with the exception the strategy requires (e.g. an os.system pickle refused as merely corrupt).</summary>
    public int WrongRefusals { get; set; }

    /// <summary>Inputs loaded without complaint although their mutation makes them unreadable (a silent wrong answer).</summary>
    public int WrongAcceptances { get; set; }

    /// <summary>Inputs that finished but allocated hundreds of times their size (listed, not failed).</summary>
    public int LargeAllocations { get; set; }

    /// <summary>Total time of the inputs that finished, in ms (for the mean).</summary>
    public double TotalMs { get; set; }

    /// <summary>Failures (other exception, hang, crash, memory).</summary>
    public int Failures => MobileOne.Fuzz.Outcomes.All.Where(o => o.IsFailure()).Sum(o => Outcomes[o.Name()]);
}

/// <summary>Inputs that failed the same way: same loader, outcome, exception type, library frame and message shape.</summary>
public sealed class FailureGroup
{
    /// <summary>Loader name.</summary>
    public required string Loader { get; init; }

    /// <summary>Outcome name (or <c>wrong-refusal</c>).</summary>
    public required string Outcome { get; init; }

    /// <summary>Exception type, when there was one.</summary>
    public string? ExceptionType { get; init; }

    /// <summary>Innermost library frame of the exception.</summary>
    public string? Where { get; init; }

    /// <summary>The message (or the driver's note) of the first input.</summary>
    public required string Message { get; init; }

    /// <summary>Number of inputs.</summary>
    public int Count { get; set; }

    /// <summary>Inputs per strategy.</summary>
    public Dictionary<string, int> Strategies { get; init; } = [];

    /// <summary>Up to a few mutation descriptions.</summary>
    public List<string> Mutations { get; init; } = [];

    /// <summary>Saved reproducers (paths relative to the output folder).</summary>
    public List<string> Reproducers { get; init; } = [];
}

/// <summary>Turns messages into failure signatures: the file name and every number replaced, so that one bug is one group.</summary>
public static partial class Signature
{
    [GeneratedRegex(@"\d[\d,.]*")]
    private static partial Regex Numbers();

    [GeneratedRegex(@"/[^\s:'""]*/in(\.[a-z.]+)?")]
    private static partial Regex InputPath();

    // Names and values quoted in messages ('stage1.0.x', {1,128,1,1}, Key: x) vary with the input, not with the bug.
    [GeneratedRegex(@"'[^']*'|\{[^}]*\}|(?<=Key: )\S+")]
    private static partial Regex Quoted();

    /// <summary>The message with the input's path, quoted names and all numbers abstracted.</summary>
    public static string Normalize(string? message)
    {
        if (string.IsNullOrEmpty(message)) return "";
        var s = InputPath().Replace(message, "FILE");
        s = Quoted().Replace(s, "Q");
        s = Numbers().Replace(s, "N");
        return s.Length > 200 ? s[..200] : s;
    }

    /// <summary>
    /// A crash's signature from the driver's note: the exit code, the first fatal line, and the innermost
    /// frame of the library in the trace that follows it (a stack overflow repeats frames from elsewhere).
    /// </summary>
    public static string Crash(string? note)
    {
        if (note is null) return "";
        var parts = note.Split(" | ");
        var frame = parts.FirstOrDefault(p => p.StartsWith("at MobileOne.", StringComparison.Ordinal) && !p.StartsWith("at MobileOne.Fuzz.", StringComparison.Ordinal));
        int paren = frame?.IndexOf('(') ?? -1;
        return $"{Normalize(parts[0])}|{(paren > 0 ? frame![..paren] : frame)}";
    }

    /// <summary>Text safe for a markdown line and for UTF-8: control characters and surrogates (lone ones cannot be encoded) escaped.</summary>
    public static string Printable(string s) =>
        string.Concat(s.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
