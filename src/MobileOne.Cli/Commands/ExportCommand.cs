using System.CommandLine;
using MobileOne.Checkpoints;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Reparameterization;
using static TorchSharp.torch;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone export</c>: fused ONNX graph of a checkpoint, written from C#.</summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("export", "Export a checkpoint to ONNX: fused first if needed, Conv/Relu chain with weights as initializers, dynamic batch.");
        var checkpoint = SharedOptions.Checkpoint("Checkpoint (.pth/.pth.tar or .safetensors; Apple, timm or mmpretrain; fused or not).");
        var model = new ModelOptions(command);
        var outputOption = SharedOptions.Output("ONNX file to write (atomically).");
        var opset = new Option<int>("--opset") { Description = $"ONNX opset ({OnnxExportOptions.SupportedOpsets[0]}-{OnnxExportOptions.SupportedOpsets[^1]}).", DefaultValueFactory = _ => 17 };
        var size = new InputSizeOption("Fixed input size: N or HxW (default: the training run's beside the checkpoint, else 224).");
        var dynamic = new Option<bool>("--dynamic") { Description = "Height and width symbolic too (any input size)." };
        command.Add(checkpoint);
        command.Add(outputOption);
        command.Add(opset);
        command.Add(size.Option);
        command.Add(dynamic);
        command.Validators.Add(r =>
        {
            if (r.GetResult(dynamic) is { Implicit: false } && r.GetResult(size.Option) is { Implicit: false })
                r.AddError("give either --input-size or --dynamic, not both");
        });
        command.SetAction(parsed =>
        {
            var (h, w) = size.Get(parsed);
            // Validated before the checkpoint is read, so a bad request fails fast.
            var options = new OnnxExportOptions { Opset = parsed.GetValue(opset), InputHeight = h, InputWidth = w, DynamicSpatial = parsed.GetValue(dynamic) }.Validated();
            using var scope = NewDisposeScope();
            var path = parsed.GetValue(checkpoint)!.FullName;
            var loaded = MobileOneCheckpoint.Load(path, model.Resolve(parsed));
            console.Out.WriteLine($"read {loaded.Describe()}");
            var run = DeploySettings.ForCheckpoint(path, loaded.Model.Config.InChannels).CheckedFor(loaded.Model.Config.NumClasses, path);
            options = run.Recorded(options);
            if (size.IsImplicit(parsed)) options = options with { InputHeight = run.Preprocessing.Size, InputWidth = run.Preprocessing.Size };
            var fused = loaded.Fused ? loaded.Model : Reparameterizer.Fuse(loaded.Model, console.Warn);
            var output = parsed.GetValue(outputOption)!.FullName;
            var check = OnnxExportCheck.ExportChecked(fused, output, options);
            console.Out.WriteLine($"wrote {output} ({new FileInfo(output).Length / 1e6:F1} MB, opset {options.Opset}, input [N, {check.Channels}, " +
                                  $"{(options.DynamicSpatial ? "H, W" : $"{options.InputHeight}, {options.InputWidth}")}]" +
                                  $"{(run.ClassNames is { } names ? $", {names.Count} class names" : "")})");
            console.Out.WriteLine(check.Summary);
            return 0;
        });
        return command;
    }
}
