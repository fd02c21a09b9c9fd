namespace MobileOne.Cli;

/// <summary>Where a command writes: results to <see cref="Out"/>, diagnostics to <see cref="Error"/>.</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error)
{
    /// <summary>Writes a warning line to stderr.</summary>
    public void Warn(string message) => Error.WriteLine($"warning: {message}");
}
