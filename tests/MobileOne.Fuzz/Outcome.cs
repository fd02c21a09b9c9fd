namespace MobileOne.Fuzz;

/// <summary>What happened to one fuzz input.</summary>
public enum Outcome
{
    /// <summary>The loader refused the file with the project's own <see cref="MobileOneException"/>.</summary>
    Refused,
    /// <summary>The loader read the file without complaint.</summary>
    Accepted,
    /// <summary>Any exception that is not a <see cref="MobileOneException"/>.</summary>
    OtherException,
    /// <summary>The input ran past the time limit; the worker was killed.</summary>
    Hang,
    /// <summary>The worker process died.</summary>
    Crash,
    /// <summary>The worker's resident memory went above the cap (or the managed heap ran out under it).</summary>
    Memory,
}

/// <summary>Names of <see cref="Outcome"/> as they appear in reports, file names and the worker protocol.</summary>
public static class Outcomes
{
    /// <summary>Every outcome, in report order.</summary>
    public static readonly IReadOnlyList<Outcome> All = Enum.GetValues<Outcome>();

    /// <summary>The kebab-case name: <c>refused</c>, <c>other-exception</c>, ...</summary>
    public static string Name(this Outcome o) => o switch
    {
        Outcome.Refused => "refused",
        Outcome.Accepted => "accepted",
        Outcome.OtherException => "other-exception",
        Outcome.Hang => "hang",
        Outcome.Crash => "crash",
        Outcome.Memory => "memory",
        _ => throw new ArgumentOutOfRangeException(nameof(o)),
    };

    /// <summary>The outcome of a kebab-case name.</summary>
    public static Outcome Parse(string name)
    {
        foreach (var o in All)
            if (o.Name() == name) return o;
        throw new FormatException($"unknown outcome '{name}'");
    }

    /// <summary>True for the outcomes a robust loader never produces.</summary>
    public static bool IsFailure(this Outcome o) => o is Outcome.OtherException or Outcome.Hang or Outcome.Crash or Outcome.Memory;
}
