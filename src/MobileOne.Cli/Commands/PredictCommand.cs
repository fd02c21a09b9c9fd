using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileOne.Data;
using MobileOne.Inference;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone predict</c>: top-k ImageNet classes of images.</summary>
internal static class PredictCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("predict", "Classify images (JPEG, PNG, ...; a folder means every image in it; an unreadable image is reported and skipped) with a checkpoint or an ONNX file.");
        var images = new Argument<string[]>("images") { Description = "Image files or folders.", Arity = ArgumentArity.OneOrMore };
        var checkpoint = SharedOptions.OptionalCheckpoint("MobileOne checkpoint (any layout; folded before use).");
        var onnx = new Option<FileInfo?>("--onnx") { Description = "ONNX image classifier (preprocessing read from its metadata when present)." };
        var model = new ModelOptions(command);
        var topk = new Option<int>("--topk") { Description = "Number of classes to show per image.", DefaultValueFactory = _ => 5 };
        var engine = new Option<string>("--engine") { Description = "Runtime for --checkpoint: onnx (exported in memory) or torch.", DefaultValueFactory = _ => "onnx" };
        engine.AcceptOnlyFromAmong("onnx", "torch");
        var threads = SharedOptions.Threads("Threads for inference (0 = runtime default).", 0, minimum: 0);
        var size = new Option<int?>("--image-size") { Description = "Crop size fed to the network (default: the training run's beside the checkpoint, or the ONNX graph's, else 224)." };
        var crop = new Option<double?>("--crop-pct") { Description = "Fraction of the resized image kept by the center crop (default 0.875: resize to 256, crop 224)." };
        var labels = new Option<FileInfo?>("--labels") { Description = "Class names, one per line (default: the training run's, or the ONNX metadata's; else ImageNet-1k for 1000 classes)." };
        var batch = new Option<int>("--batch") { Description = "Images per forward pass.", DefaultValueFactory = _ => 8 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        CliValidation.AtLeast(topk, 1);
        CliValidation.AtLeast(batch, 1);
        command.Add(images);
        command.Add(checkpoint);
        command.Add(onnx);
        command.Add(topk);
        command.Add(engine);
        command.Add(threads);
        command.Add(size);
        command.Add(crop);
        command.Add(labels);
        command.Add(batch);
        command.Add(json);
        command.Validators.Add(r =>
        {
            bool hasCheckpoint = r.GetResult(checkpoint) is not null, hasOnnx = r.GetResult(onnx) is not null;
            if (hasCheckpoint == hasOnnx) r.AddError("give exactly one of --checkpoint or --onnx");
            if (hasOnnx && r.GetValue(engine) == "torch") r.AddError("--onnx runs with --engine onnx");
        });
        command.SetAction(parsed =>
        {
            var files = Expand(parsed.GetValue(images)!, console);
            if (files.Count == 0) throw new MobileOneException("no images to classify");
            using var classifier = Load(parsed, checkpoint, onnx, model, engine, threads, size, crop, labels, console);
            var results = classifier.ClassifyFiles(files, parsed.GetValue(topk), parsed.GetValue(batch));
            foreach (var failed in results.Where(r => !r.Succeeded)) console.Error.WriteLine($"skipped: {failed.Error}");
            if (parsed.GetValue(json)) WriteJson(console.Out, results, classifier);
            else WriteText(console.Out, results);
            if (results.Any(r => r.Succeeded)) return 0;
            console.Error.WriteLine($"error: none of the {files.Count} images could be classified");
            return CliApp.Failure;
        });
        return command;
    }

    private static ImageClassifier Load(ParseResult parsed, Option<FileInfo?> checkpoint, Option<FileInfo?> onnx, ModelOptions model,
        Option<string> engine, Option<int> threads, Option<int?> size, Option<double?> crop, Option<FileInfo?> labels, CliConsole console)
    {
        ImagePreprocessor? Override(ImagePreprocessor basis)
        {
            var p = basis;
            if (parsed.GetValue(size) is int s) p = p with { Size = s };
            if (parsed.GetValue(crop) is double c) p = p with { CropPct = c };
            return p.Validated();
        }
        var names = parsed.GetValue(labels) is { } file ? ClassLabels.FromFile(file.FullName) : null;
        int t = parsed.GetValue(threads);
        if (parsed.GetValue(onnx) is { } onnxFile)
        {
            var classifier = ImageClassifier.FromOnnx(onnxFile.FullName, t);
            var pre = Override(classifier.Preprocessing);
            if (pre == classifier.Preprocessing && names is null) return classifier;
            classifier.Dispose();
            return ImageClassifier.FromOnnx(onnxFile.FullName, t, pre, names);
        }
        var backend = parsed.GetValue(engine) == "torch" ? InferenceBackend.Torch : InferenceBackend.Onnx;
        var path = parsed.GetValue(checkpoint)!.FullName;
        return ImageClassifier.FromCheckpoint(path, model.Resolve(parsed), backend, t,
            Override(DeploySettings.ForCheckpoint(path).Preprocessing), names, console.Warn);
    }

    private static List<string> Expand(string[] args, CliConsole console)
    {
        var files = new List<string>();
        foreach (var a in args)
        {
            if (Directory.Exists(a))
            {
                var found = Directory.EnumerateFiles(a).Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) console.Warn($"no images in folder {a}");
                files.AddRange(found);
            }
            else
            {
                files.Add(a);
            }
        }
        return files;
    }

    private static void WriteText(TextWriter o, IReadOnlyList<FileClassification> results)
    {
        foreach (var (file, top, error) in results)
        {
            o.WriteLine(file);
            if (top is null) { o.WriteLine($"  error: {error}"); continue; }
            for (int i = 0; i < top.Count; i++)
                o.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0,2}. {1,6:P2}  {2} ({3})", i + 1, top[i].Probability, top[i].Label, top[i].ClassIndex));
        }
    }

    private static void WriteJson(TextWriter o, IReadOnlyList<FileClassification> results, ImageClassifier c) =>
        o.WriteLine(JsonSerializer.Serialize(new
        {
            engine = c.Engine.Name,
            preprocessing = new { size = c.Preprocessing.Size, channels = c.Preprocessing.Channels, crop_pct = c.Preprocessing.CropPct, resize = c.Preprocessing.ResizeSize, mean = c.Preprocessing.Mean, std = c.Preprocessing.Std },
            images = results.Select(r => new
            {
                image = r.Path,
                error = r.Error,
                predictions = r.Predictions?.Select(p => new { index = p.ClassIndex, label = p.Label, probability = p.Probability }),
            }),
        }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
}
