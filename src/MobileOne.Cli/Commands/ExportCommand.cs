using System.CommandLine;
using MobileOne.Checkpoints;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone export</c>: fused ONNX graph of a checkpoint, written from C#.</summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("export", "Export a checkpoint to ONNX: fused first if needed, Conv/Relu chain with weights as initializers, dynamic batch.");
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "Checkpoint (.pth/.pth.tar or .safetensors; Apple, timm or mmpretrain; fused or not).", Required = true };
        var model = new ModelOptions(command);
        var output = new Option<FileInfo>("--output") { Description = "ONNX file to write (atomically).", Required = true };
        var opset = new Option<int>("--opset") { Description = $"ONNX opset ({OnnxExportOptions.SupportedOpsets[0]}-{OnnxExportOptions.SupportedOpsets[^1]}).", DefaultValueFactory = _ => 17 };
        var size = new Option<string>("--input-size") { Description = "Fixed input size: N or HxW.", DefaultValueFactory = _ => "224" };
        var dynamic = new Option<bool>("--dynamic") { Description = "Height and width symbolic too (any input size)." };
        command.Add(checkpoint);
        command.Add(output);
        command.Add(opset);
        command.Add(size);
        command.Add(dynamic);
        command.Validators.Add(r =>
        {
            if (r.GetResult(dynamic) is { Implicit: false } && r.GetResult(size) is { Implicit: false })
                r.AddError("give either --input-size or --dynamic, not both");
        });
        command.SetAction(parsed =>
        {
            var (h, w) = InputSize.Parse(parsed.GetValue(size)!);
            // Validated before the checkpoint is read, so a bad request fails fast.
            var options = new OnnxExportOptions { Opset = parsed.GetValue(opset), InputHeight = h, InputWidth = w, DynamicSpatial = parsed.GetValue(dynamic) }.Validated();
            using var scope = NewDisposeScope();
            var loaded = MobileOneCheckpoint.Load(parsed.GetValue(checkpoint)!.FullName, model.Resolve(parsed));
            console.Out.WriteLine($"read {ForwardCommand.Describe(loaded)}");
            var fused = loaded.Fused ? loaded.Model : Reparameterizer.Fuse(loaded.Model, console.Warn);
            var path = parsed.GetValue(output)!.FullName;
            OnnxExporter.Export(fused, path, options);
            // Check the file with ONNX Runtime against the TorchSharp model it came from.
            int ch = options.DynamicSpatial ? 193 : h, cw = options.DynamicSpatial ? 257 : w;
            using var x = randn(1, 3, ch, cw, generator: new Generator(0));
            using var engine = new OnnxEngine(path);
            var ort = engine.Run(x.data<float>().ToArray(), 1, ch, cw);
            double diff;
            using (no_grad()) diff = (fused.forward(x) - tensor(ort, [1, engine.NumClasses])).abs().max().item<float>();
            console.Out.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB, opset {options.Opset}, input [N, 3, " +
                                  $"{(options.DynamicSpatial ? "H, W" : $"{h}, {w}")}])");
            console.Out.WriteLine($"checked with ONNX Runtime on a random 1x3x{ch}x{cw} batch: max |ONNX - TorchSharp| = {diff:E2}");
            return 0;
        });
        return command;
    }
}
