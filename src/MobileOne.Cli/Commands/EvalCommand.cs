using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileOne.Data;
using MobileOne.Checkpoints;
using MobileOne.Inference;
using MobileOne.Reparameterization;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone eval</c>: accuracy of a checkpoint, fused and unfused, with their agreement; or of an ONNX classifier, float or int8.</summary>
internal static class EvalCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("eval", "Evaluate a checkpoint on a validation set: top-1, top-5, per-class accuracy, a confusion-matrix PNG; the train-time and fused forms both, with their agreement. " +
                                          "Or evaluate an ONNX classifier (float or int8) in ONNX Runtime, with the preprocessing its metadata records.");
        var data = new Option<string>("--data") { Description = "fashion-mnist (its 10,000 test images), a folder of MNIST-format IDX files (its t10k files), or a folder with val/CLASS/*.jpg.", Required = true };
        var checkpoint = SharedOptions.OptionalCheckpoint("Checkpoint (any layout). A training run's config.json beside it gives the preprocessing.");
        var onnx = new Option<FileInfo?>("--onnx") { Description = "An exported ONNX classifier (float or int8) to evaluate in ONNX Runtime instead." };
        var model = new ModelOptions(command);
        var size = new Option<int?>("--image-size") { Description = "Evaluation size (default: the run's, else 224 for an ImageFolder and the images' own size for IDX data)." };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var subset = new Option<int>("--subset") { Description = "Evaluate at most N images (class-balanced).", DefaultValueFactory = _ => 0 };
        var confusion = new Option<string?>("--confusion") { Description = "Where to write the confusion-matrix PNG (default: beside the checkpoint)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        foreach (var o in new Option[] { data, checkpoint, onnx, size, batch, subset, confusion, json }) command.Add(o);
        CliValidation.AtLeast(batch, 1);
        command.Validators.Add(r =>
        {
            if ((r.GetResult(checkpoint) is null) == (r.GetResult(onnx) is null)) r.AddError("give one of --checkpoint or --onnx");
            if (r.GetResult(onnx) is not null && (r.GetResult(size) is not null || r.GetResult(model.Variant) is { Implicit: false } || r.GetResult(model.Config) is not null))
                r.AddError("an ONNX model brings its own size and architecture; --image-size, --variant and --config go with --checkpoint");
        });
        command.SetAction(parsed =>
        {
            string ConfusionPath(string model) => parsed.GetValue(confusion) ?? Path.Combine(Path.GetDirectoryName(model)!, Path.GetFileName(model).Split('.')[0] + "_confusion.png");
            if (parsed.GetValue(onnx) is { } file)
            {
                using var engine = new OnnxEngine(file.FullName);
                var set = TrainingData.ValidationSet(parsed.GetValue(data)!, parsed.GetValue(subset));
                var result = Evaluator.Evaluate(engine, set, parsed.GetValue(batch));
                var plot = ConfusionPath(file.FullName);
                TrainingPlots.Confusion(result, plot);
                Report(console, set.Description, result, null, plot, parsed.GetValue(json));
                return 0;
            }
            var path = parsed.GetValue(checkpoint)!.FullName;
            var loaded = MobileOneCheckpoint.Load(path, model.Resolve(parsed));
            var options = RunOptionsBeside(path, parsed.GetValue(data)!, loaded.Model.Config.InChannels);
            if (parsed.GetValue(size) is int s) options = options with { ImageSize = s };
            options = options with { ValSubset = parsed.GetValue(subset) };
            var val = TrainingData.ValidationSet(options.Data, options.ValSubset);
            if (val.ClassNames.Count != loaded.Model.Config.NumClasses)
                throw new MobileOneException($"{val.Description} has {val.ClassNames.Count} classes; the checkpoint's classifier has {loaded.Model.Config.NumClasses}");
            var loader = options.EvalLoader(val, parsed.GetValue(batch));
            var main = Evaluator.Evaluate(loaded.Model, loader, options.ImageSize, val.ClassNames);
            EvaluationResult? fused = null;
            if (!loaded.Fused)
            {
                using var folded = Reparameterizer.Fuse(loaded.Model, console.Warn);
                fused = Evaluator.Evaluate(folded, loader, options.ImageSize, val.ClassNames);
            }
            var png = ConfusionPath(path);
            TrainingPlots.Confusion(main, png);
            Report(console, val.Description, main, fused, png, parsed.GetValue(json));
            return 0;
        });
        return command;
    }

    /// <summary>The training configuration of the run a checkpoint belongs to, or defaults for the data set.</summary>
    internal static TrainOptions RunOptionsBeside(string checkpoint, string data, int channels)
    {
        return RunFolder.Of(checkpoint) is { } run ? run.ReadConfig() with { Data = data } : TrainOptions.ForData(data, channels);
    }

    private static void Report(CliConsole console, string data, EvaluationResult main, EvaluationResult? fused, string png, bool json)
    {
        var perClass = main.PerClassAccuracy();
        if (json)
        {
            console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["data"] = data, ["images"] = main.Count, ["top1"] = main.Top1, ["top5"] = main.Top5, ["loss"] = main.Loss,
                ["per_class"] = main.ClassNames.Select((c, i) => new { @class = c, accuracy = perClass[i] }).ToArray(),
                ["fused_top1"] = fused?.Top1, ["fused_top5"] = fused?.Top5, ["fused_agreement"] = fused is null ? null : main.Agreement(fused),
                ["confusion_png"] = png,
            }));
            return;
        }
        var inv = CultureInfo.InvariantCulture;
        console.Out.WriteLine($"{data}: {main.Count:N0} images");
        console.Out.WriteLine(string.Format(inv, "top-1 {0:P2}  top-5 {1:P2}  loss {2:F4}", main.Top1, main.Top5, main.Loss));
        if (fused is not null)
            console.Out.WriteLine(string.Format(inv, "fused: top-1 {0:P2}  top-5 {1:P2}; predictions agree with the train-time form on {2:P3} of images",
                fused.Top1, fused.Top5, main.Agreement(fused)));
        for (int i = 0; i < perClass.Length && i < 50; i++)
            console.Out.WriteLine(string.Format(inv, "  {0,-24} {1,8:P2}", main.ClassNames[i], perClass[i]));
        console.Out.WriteLine($"confusion matrix: {png}");
    }
}
