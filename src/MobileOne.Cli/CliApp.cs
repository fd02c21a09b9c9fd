using System.CommandLine;
using MobileOne.Cli.Commands;
using MobileOne.Models;

namespace MobileOne.Cli;

/// <summary>
/// The <c>mobileone</c> command: a thin shell over the library. Exit codes: 0 success, 1 an error in
/// the input or the work (message on stderr, no stack trace), 2 bad usage.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code for a failed command.</summary>
    public const int Failure = 1;

    /// <summary>Exit code for a malformed command line.</summary>
    public const int Usage = 2;

    /// <summary>Runs the CLI with the given arguments and output streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var console = new CliConsole(stdout, stderr);
        var root = new RootCommand("MobileOne.NET: define, load, reparameterise and run MobileOne (Vasu et al., CVPR 2023) in .NET.")
        {
            InfoCommand.Create(console),
            ForwardCommand.Create(console),
            FeaturesCommand.Create(console),
            ReparamCommand.Create(console),
            ConvertCommand.Create(console),
            ExportCommand.Create(console),
            PredictCommand.Create(console),
            ServeCommand.Create(console),
            BenchCommand.Create(console),
            TrainCommand.Create(console),
            EvalCommand.Create(console),
            QuantizeCommand.Create(console),
            DataCommand.Create(console),
            QuickstartCommand.Create(console),
            ZooCommand.Create(console),
            StudyCommand.Create(console),
            DetectCommand.Create(console),
            SegmentCommand.Create(console),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine($"error: {error.Message}");
            stderr.WriteLine($"Run 'mobileone {string.Join(' ', CommandPath(parsed))} --help' for usage.".Replace("  ", " "));
            return Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is MobileOneException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return Failure;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MOBILEONE_DEBUG") is null)
        {
            // One line, as for every error: a LibTorch message would otherwise bring its C++ backtrace.
            stderr.WriteLine($"error: unexpected failure ({e.GetType().Name}): {TorchErrors.FirstLine(e.Message)} (set MOBILEONE_DEBUG=1 for the stack trace, and please report it)");
            return Failure;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static IEnumerable<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Command.Name);
        return names;
    }
}
