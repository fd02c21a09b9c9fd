using System.CommandLine;

namespace MobileOne.Cli.Commands;

/// <summary>
/// The options several verbs repeat (checkpoint, output, threads), one definition each; every verb keeps
/// its own description and adds them in its own order, so its help reads as before.
/// </summary>
internal static class SharedOptions
{
    /// <summary>A required <c>--checkpoint</c> file.</summary>
    public static Option<FileInfo> Checkpoint(string description) => new("--checkpoint") { Description = description, Required = true };

    /// <summary>An optional <c>--checkpoint</c> file (the verb has another source).</summary>
    public static Option<FileInfo?> OptionalCheckpoint(string description) => new("--checkpoint") { Description = description };

    /// <summary>
    /// <c>--onnx</c>, an exported model to use instead of <paramref name="checkpoint"/>, added to <paramref name="command"/>
    /// with the rule that exactly one of the two is given and that <paramref name="checkpointOnly"/> go with the checkpoint.
    /// </summary>
    public static Option<FileInfo?> OnnxInstead(Command command, Option checkpoint, string description, params Option[] checkpointOnly)
    {
        var onnx = new Option<FileInfo?>("--onnx") { Description = description };
        command.Add(onnx);
        command.Validators.Add(r =>
        {
            bool hasOnnx = r.GetResult(onnx) is not null;
            if ((r.GetResult(checkpoint) is null) != hasOnnx) r.AddError("give exactly one of --checkpoint or --onnx");
            if (hasOnnx && checkpointOnly.FirstOrDefault(o => r.GetResult(o) is { Implicit: false }) is { } extra)
                r.AddError($"{extra.Name} goes with --checkpoint; an ONNX model brings its own");
        });
        return onnx;
    }

    /// <summary>A required <c>--output</c> file.</summary>
    public static Option<FileInfo> Output(string description) => new("--output") { Description = description, Required = true };

    /// <summary><c>--layout</c>: the key layout to write (apple, timm or mmpretrain).</summary>
    public static Option<string?> Layout(string description, bool required = false)
    {
        var option = new Option<string?>("--layout") { Description = description, Required = required };
        option.AcceptOnlyFromAmong("apple", "timm", "mmpretrain");
        return option;
    }

    /// <summary><c>--format</c>: the checkpoint file format to write (pth or safetensors); by default, the output's extension decides.</summary>
    public static Option<string?> Format()
    {
        var option = new Option<string?>("--format") { Description = "File format to write: pth or safetensors. Default: from the output extension (.safetensors, else pth)." };
        option.AcceptOnlyFromAmong("pth", "safetensors");
        return option;
    }

    /// <summary>The format <see cref="Format"/> names, or null when it was not given.</summary>
    public static Checkpoints.CheckpointFormat? FormatValue(ParseResult parsed, Option<string?> format) => parsed.GetValue(format) switch
    {
        null => null,
        "safetensors" => Checkpoints.CheckpointFormat.Safetensors,
        _ => Checkpoints.CheckpointFormat.Pth,
    };

    /// <summary><c>--threads</c> with its default; at least <paramref name="minimum"/> when given.</summary>
    public static Option<int> Threads(string description, int defaultValue, int? minimum = null)
    {
        var option = new Option<int>("--threads") { Description = description, DefaultValueFactory = _ => defaultValue };
        if (minimum is int m) CliValidation.AtLeast(option, m);
        return option;
    }
}

/// <summary><c>--input-size</c>: N or HxW, 224 by default.</summary>
internal sealed class InputSizeOption(string description)
{
    /// <summary>The option, for the verb to add.</summary>
    public Option<string> Option { get; } = new("--input-size") { Description = description, DefaultValueFactory = _ => "224" };

    /// <summary>The height and width given.</summary>
    public (int Height, int Width) Get(ParseResult parsed) => InputSize.Parse(parsed.GetValue(Option)!);

    /// <summary>True when the size is the default, not one the user gave (a model's own size may then apply).</summary>
    public bool IsImplicit(ParseResult parsed) => parsed.GetResult(Option) is null or { Implicit: true };
}
