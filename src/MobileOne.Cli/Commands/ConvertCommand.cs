using System.CommandLine;
using MobileOne.Checkpoints;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone convert</c>: rename a checkpoint's keys to another layout, without folding.</summary>
internal static class ConvertCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("convert", "Rewrite a checkpoint in another key layout WITHOUT folding: a train-time checkpoint keeps its branches, so that timm, Apple's code or mmpretrain can go on training it (reparam folds).");
        var checkpoint = SharedOptions.Checkpoint("Checkpoint to convert (.pth/.pth.tar or .safetensors, any layout, fused or not).");
        var layout = SharedOptions.Layout("Key layout to write: apple, timm or mmpretrain.", required: true);
        var output = SharedOptions.Output("Where to write the converted checkpoint (written atomically).");
        var format = SharedOptions.Format();
        var model = new ModelOptions(command);
        command.Add(checkpoint);
        command.Add(layout);
        command.Add(output);
        command.Add(format);
        command.SetAction(parsed =>
        {
            var input = parsed.GetValue(checkpoint)!.FullName;
            var outPath = parsed.GetValue(output)!.FullName;
            var result = LayoutConversion.Convert(input, ReparamCommand.ParseLayout(parsed.GetValue(layout)!), outPath, SharedOptions.FormatValue(parsed, format), model.Resolve(parsed));
            console.Out.WriteLine($"converted {result.Describe()}");
            console.Out.WriteLine($"wrote {outPath}");
            ReparamCommand.KeepRunDescription(input, outPath, console);
            return 0;
        });
        return command;
    }
}
