using System.CommandLine;
using MobileOne.Inference;
using MobileOne.Models;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone features</c>: write a checkpoint's feature pyramid on a .npy batch, one .npy per level.</summary>
internal static class FeaturesCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("features", "Load a checkpoint, run it in eval mode on a float32 NCHW .npy batch and write its feature maps (stem.npy, stage1.npy ... stage4.npy) into a folder.");
        var checkpoint = SharedOptions.Checkpoint("Checkpoint: .pth/.pth.tar (torch.save) or .safetensors; Apple, timm or mmpretrain layout.");
        var model = new ModelOptions(command);
        var input = new Option<FileInfo>("--input") { Description = "Input batch, float32 .npy of shape [N, 3, H, W].", Required = true };
        var outputDir = new Option<DirectoryInfo>("--output-dir") { Description = "Folder for the .npy files (created if missing).", Required = true };
        var outputStride = new Option<int?>("--output-stride") { Description = "Output stride 8, 16 or 32: below 32 the last stages are dilated instead of downsampled. Default: the configuration's (32)." };
        outputStride.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is int os && !MobileOneConfig.SupportedOutputStrides.Contains(os))
                r.AddError($"--output-stride must be 8, 16 or 32, found {os}");
        });
        var fuse = new Option<bool>("--fuse") { Description = "Reparameterise a train-time checkpoint before running it." };
        command.Add(checkpoint);
        command.Add(input);
        command.Add(outputDir);
        command.Add(outputStride);
        command.Add(fuse);
        command.SetAction(parsed =>
        {
            var result = FeatureExtraction.Run(parsed.GetValue(checkpoint)!.FullName, parsed.GetValue(input)!.FullName,
                parsed.GetValue(outputDir)!.FullName, model.Resolve(parsed), parsed.GetValue(outputStride), parsed.GetValue(fuse), console.Warn);
            console.Out.WriteLine($"{result.Checkpoint.Describe()}, run {(result.Fused ? "fused" : "train-time")} at output stride {result.Config.OutputStride}");
            foreach (var f in result.Features)
                console.Out.WriteLine($"{f.Level.Name,-7} [{string.Join(", ", f.Shape)}]  stride {f.Level.Stride}  -> {f.Path}");
            return 0;
        });
        return command;
    }
}
