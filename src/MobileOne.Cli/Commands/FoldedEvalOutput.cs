using System.Globalization;

namespace MobileOne.Cli.Commands;

/// <summary>
/// How <c>detect eval</c> and <c>segment eval</c> report a checkpoint scored as it is and folded: progress on stderr,
/// then one JSON object or the task's report, and exit code 1 when the two disagree.
/// </summary>
internal static class FoldedEvalOutput
{
    /// <summary>A progress callback that says on stderr when every image has been scored (by the model and its folded form, in one pass).</summary>
    internal static Action<int, int> Progress(CliConsole console) =>
        (done, all) => { if (done == all) console.Error.WriteLine($"{all} images scored"); };

    /// <summary>
    /// Prints <c>{"model": ..., "folded": ... or null, "max_difference": ...}</c> with <paramref name="json"/>, else
    /// <paramref name="report"/>; then, when the scores differ by more than <paramref name="tolerance"/>, an error naming
    /// <paramref name="what"/> (e.g. "detector's statistics"). Returns the exit code.
    /// </summary>
    internal static int Print(CliConsole console, bool json, string modelJson, string? foldedJson, double maxDifference, double tolerance, Action report, string what)
    {
        if (json)
            console.Out.WriteLine($"{{\"model\": {modelJson}, \"folded\": {foldedJson ?? "null"}, \"max_difference\": {maxDifference.ToString("R", CultureInfo.InvariantCulture)}}}");
        else report();
        if (maxDifference <= tolerance) return 0;
        console.Error.WriteLine($"error: the folded {what} differ from the model's by {maxDifference:G3} (allowed {tolerance})");
        return 1;
    }
}
