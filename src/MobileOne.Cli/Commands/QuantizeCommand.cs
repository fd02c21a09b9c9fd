using System.CommandLine;
using MobileOne.Quantization;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone quantize</c>: int8 post-training quantisation of a classifier, segmenter or detector, written as a QDQ ONNX model.</summary>
internal static class QuantizeCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("quantize", "Quantise a classifier, segmenter or detector to int8 (QDQ ONNX: uint8 activations, int8 weights, int32 biases), calibrated in ONNX Runtime, checked against the float model before it is written.");
        var checkpoint = SharedOptions.OptionalCheckpoint("Checkpoint to quantise (folded and exported in memory first, with its training run's size and preprocessing).");
        var onnx = new Option<FileInfo?>("--onnx") { Description = "Float ONNX model to quantise: a classifier, or a segmenter or detector this tool exported (its metadata gives the preprocessing)." };
        var model = new ModelOptions(command);
        var calibration = new Option<string>("--calibration")
        {
            Description = "Calibration samples: fashion-mnist (its training split, so that evaluation on its test split stays unseen), a folder of IDX files (the training split), a folder of images (searched recursively; for a graph that takes any size, such as a segmenter's, cropped square to the first image's shorter side, at most 512), or an .npy of preprocessed inputs [N, C, H, W].",
            Required = true,
        };
        var samples = new Option<int>("--samples") { Description = "Calibration samples to use (at most).", DefaultValueFactory = _ => new QuantizationOptions().Samples };
        var method = new Option<string>("--method") { Description = "Activation ranges: minmax, percentile (99.99 %) or entropy (KL divergence, 2048 bins).", DefaultValueFactory = _ => "minmax" };
        method.AcceptOnlyFromAmong([.. CalibrationMethods.Names]);
        var perChannel = new Option<bool>("--per-channel") { Description = "One weight scale per output channel (the default)." };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One weight scale per tensor." };
        var keepFloat = new Option<string?>("--keep-float") { Description = "Comma-separated layers to leave in float: stem, classifier, node names or name prefixes (stage0)." };
        var biasCorrection = new Option<bool>("--bias-correction") { Description = "Shift each quantised layer's bias by the mean error quantisation adds to its output, measured on the calibration samples layer after layer (one pass over them per layer with a bias)." };
        var output = SharedOptions.Output("Int8 ONNX file to write (atomically, after the check).");
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        foreach (var o in new Option[] { checkpoint, onnx, calibration, samples, method, perChannel, perTensor, keepFloat, biasCorrection, output, json }) command.Add(o);
        CliValidation.AtLeast(samples, 1);
        command.Validators.Add(r =>
        {
            if ((r.GetResult(checkpoint) is null) == (r.GetResult(onnx) is null)) r.AddError("give one of --checkpoint or --onnx");
            if (r.GetResult(onnx) is not null && (r.GetResult(model.Variant) is { Implicit: false } || r.GetResult(model.Config) is not null))
                r.AddError("--variant and --config describe a checkpoint, not an ONNX model");
            if (r.GetResult(perChannel) is not null && r.GetResult(perTensor) is not null) r.AddError("give --per-channel or --per-tensor, not both");
        });
        command.SetAction(parsed =>
        {
            var options = new QuantizationOptions
            {
                Samples = parsed.GetValue(samples),
                Method = CalibrationMethods.Parse(parsed.GetValue(method)!),
                PerChannel = !parsed.GetValue(perTensor),
                KeepFloat = parsed.GetValue(keepFloat)?.Split(',', StringSplitOptions.TrimEntries) ?? [],
                BiasCorrection = parsed.GetValue(biasCorrection),
            }.Validated();
            string data = parsed.GetValue(calibration)!, path = parsed.GetValue(output)!.FullName;
            // Bias correction runs the model once per layer: say how far it is, a tenth at a time.
            Action<int, int> progress = (done, all) =>
            {
                if (done * 10 / all != (done - 1) * 10 / all) console.Error.WriteLine($"bias correction: {done} of {all} layers");
            };
            var report = parsed.GetValue(onnx) is { } file
                ? OnnxQuantizer.QuantizeOnnx(file.FullName, data, options, path, progress)
                : OnnxQuantizer.QuantizeCheckpoint(parsed.GetValue(checkpoint)!.FullName, model.Resolve(parsed), data, options, path, console.Warn, progress);
            if (parsed.GetValue(json)) console.Out.WriteLine(report.ToJson());
            else foreach (var line in report.TextLines()) console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }
}
