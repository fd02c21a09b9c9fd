using System.CommandLine;
using MobileOne.Checkpoints;
using MobileOne.Inference;
using MobileOne.Reparameterization;
using MobileOne.Training;
using static TorchSharp.torch;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone reparam</c>: fold a train-time checkpoint into an inference checkpoint.</summary>
internal static class ReparamCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("reparam", "Fold a train-time (multi-branch) checkpoint into an inference checkpoint that Apple's code loads with inference_mode=True and timm's after reparameterize_model.");
        var checkpoint = SharedOptions.Checkpoint("Train-time checkpoint (.pth/.pth.tar or .safetensors, any layout).");
        var output = SharedOptions.Output("Where to write the fused checkpoint (written atomically).");
        var layout = SharedOptions.Layout("Key layout to write: apple, timm or mmpretrain. Default: the input's layout.");
        var format = SharedOptions.Format();
        var model = new ModelOptions(command);
        command.Add(checkpoint);
        command.Add(output);
        command.Add(layout);
        command.Add(format);
        command.SetAction(parsed =>
        {
            var config = model.Resolve(parsed);
            using var scope = NewDisposeScope();
            var inPath = parsed.GetValue(checkpoint)!.FullName;
            var loaded = MobileOneCheckpoint.Load(inPath, config);
            var outLayout = parsed.GetValue(layout) is { } l ? ParseLayout(l) : loaded.Layout;
            var outPath = parsed.GetValue(output)!.FullName;
            var outFormat = SharedOptions.FormatValue(parsed, format) ?? CheckpointFile.FormatFromExtension(outPath);
            console.Out.WriteLine($"read {loaded.Describe()}");
            var fused = loaded.Model;
            if (loaded.Fused)
            {
                console.Warn("the checkpoint is already fused; writing it unchanged in the requested layout and format");
            }
            else
            {
                fused = Reparameterizer.Fuse(loaded.Model, console.Warn);
                // At the size the model was trained for, with its own channels.
                int size = DeploySettings.ForCheckpoint(inPath, loaded.Model.Config.InChannels).Preprocessing.Size;
                var check = FoldCheck.Run(loaded.Model, fused, size);
                console.Out.WriteLine(check.Summary);
                check.EnsureAgrees();
            }
            MobileOneCheckpoint.Save(fused, outPath, outLayout, outFormat);
            console.Out.WriteLine($"wrote {outPath} ({outLayout.ToString().ToLowerInvariant()} layout, {outFormat.ToString().ToLowerInvariant()})");
            KeepRunDescription(inPath, outPath, console);
            return 0;
        });
        return command;
    }

    // The folded weights are still the run's model: beside them, the run's size, normalisation and class names keep applying.
    internal static void KeepRunDescription(string inPath, string outPath, CliConsole console)
    {
        string outDir = Path.GetDirectoryName(outPath)!;
        if (RunFolder.Of(inPath) is not { } run || run.Path == outDir) return;
        if (run.CopyDescriptionTo(outDir))
            console.Out.WriteLine($"copied the training run's {RunFolder.ConfigName}, {MobileOneCheckpoint.SidecarConfigName} and {RunFolder.ClassNamesName} beside it");
        else
            console.Warn($"{outDir} already holds a run's configuration; tools reading {Path.GetFileName(outPath)} there take theirs, not those of {run.Path}");
    }

    internal static CheckpointLayout ParseLayout(string name) => name switch
    {
        "apple" => CheckpointLayout.Apple,
        "timm" => CheckpointLayout.Timm,
        "mmpretrain" => CheckpointLayout.MMPretrain,
        _ => throw new MobileOneException($"unknown layout '{name}'; expected apple, timm or mmpretrain"),
    };
}
