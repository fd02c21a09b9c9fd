using System.CommandLine;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Inference;
using static TorchSharp.torch;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone forward</c>: run a checkpoint on a .npy batch and write the logits.</summary>
internal static class ForwardCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("forward", "Load a checkpoint (any layout, fused or not), run it in eval mode on a float32 NCHW .npy batch and write the logits as .npy.");
        var checkpoint = SharedOptions.Checkpoint("Checkpoint: .pth/.pth.tar (torch.save) or .safetensors; Apple, timm or mmpretrain layout.");
        var model = new ModelOptions(command);
        var input = new Option<FileInfo>("--input") { Description = "Input batch, float32 .npy of shape [N, 3, H, W].", Required = true };
        var output = SharedOptions.Output("Where to write the logits (.npy, shape [N, classes]).");
        var fuse = new Option<bool>("--fuse") { Description = "Reparameterise a train-time checkpoint before running it." };
        command.Add(checkpoint);
        command.Add(input);
        command.Add(output);
        command.Add(fuse);
        command.SetAction(parsed =>
        {
            using var scope = NewDisposeScope();
            var batch = CheckpointBatch.Load(parsed.GetValue(checkpoint)!.FullName, parsed.GetValue(input)!.FullName,
                model.Resolve(parsed), fuse: parsed.GetValue(fuse), warn: console.Warn);
            var logits = batch.Run((net, x) => net.forward(x));
            var outPath = parsed.GetValue(output)!.FullName;
            NpyFile.Write(outPath, logits);
            console.Out.WriteLine(
                $"{batch.Checkpoint.Describe()} -> logits [{string.Join(", ", logits.shape)}] written to {outPath}");
            return 0;
        });
        return command;
    }
}
