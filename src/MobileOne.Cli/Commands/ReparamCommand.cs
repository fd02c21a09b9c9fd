using System.CommandLine;
using MobileOne.Checkpoints;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone reparam</c>: fold a train-time checkpoint into an inference checkpoint.</summary>
internal static class ReparamCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("reparam", "Fold a train-time (multi-branch) checkpoint into an inference checkpoint that Apple's code loads with inference_mode=True and timm's after reparameterize_model.");
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Train-time checkpoint (.pth/.pth.tar or .safetensors, any layout).", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "Where to write the fused checkpoint (written atomically).", Required = true };
        var layout = new Option<string?>("--layout") { Description = "Key layout to write: apple, timm or mmpretrain. Default: the input's layout." };
        layout.AcceptOnlyFromAmong("apple", "timm", "mmpretrain");
        var format = new Option<string?>("--format") { Description = "File format to write: pth or safetensors. Default: from the output extension (.safetensors, else pth)." };
        format.AcceptOnlyFromAmong("pth", "safetensors");
        var model = new ModelOptions(command);
        command.Add(checkpoint);
        command.Add(output);
        command.Add(layout);
        command.Add(format);
        command.SetAction(parsed =>
        {
            var config = model.Resolve(parsed);
            using var scope = NewDisposeScope();
            var loaded = MobileOneCheckpoint.Load(parsed.GetValue(checkpoint)!.FullName, config);
            var outLayout = parsed.GetValue(layout) is { } l ? ParseLayout(l) : loaded.Layout;
            var outPath = parsed.GetValue(output)!.FullName;
            var outFormat = parsed.GetValue(format) is { } f
                ? (f == "safetensors" ? CheckpointFormat.Safetensors : CheckpointFormat.Pth)
                : CheckpointFile.FormatFromExtension(outPath);
            console.Out.WriteLine($"read {ForwardCommand.Describe(loaded)}");
            var fused = loaded.Model;
            if (loaded.Fused)
            {
                console.Warn("the checkpoint is already fused; writing it unchanged in the requested layout and format");
            }
            else
            {
                fused = Reparameterizer.Fuse(loaded.Model, console.Warn);
                // Check the fold on a random batch: the two forms must compute the same function.
                var size = 224;
                using var x = randn(1, 3, size, size, generator: new Generator(0));
                double diff, scale;
                using (no_grad())
                {
                    var reference = loaded.Model.forward(x);
                    diff = (reference - fused.forward(x)).abs().max().item<float>();
                    scale = Math.Max(1.0, reference.abs().max().item<float>());
                }
                console.Out.WriteLine($"fused {loaded.Model.Blocks().Count()} blocks; max |train-time - fused| on a random 1x3x{size}x{size} batch: {diff:E2}");
                if (!(diff <= 1e-4 * scale))
                    throw new MobileOneException($"the fused model disagrees with the train-time model by {diff:E2} (logits up to {scale:G3}); the checkpoint's BatchNorm statistics may be corrupt");
            }
            MobileOneCheckpoint.Save(fused, outPath, outLayout, outFormat);
            console.Out.WriteLine($"wrote {outPath} ({outLayout.ToString().ToLowerInvariant()} layout, {outFormat.ToString().ToLowerInvariant()})");
            return 0;
        });
        return command;
    }

    internal static CheckpointLayout ParseLayout(string name) => name switch
    {
        "apple" => CheckpointLayout.Apple,
        "timm" => CheckpointLayout.Timm,
        "mmpretrain" => CheckpointLayout.MMPretrain,
        _ => throw new MobileOneException($"unknown layout '{name}'; expected apple, timm or mmpretrain"),
    };
}
