using System.CommandLine;
using System.Globalization;
using MobileOne.Inference;
using MobileOne.Segmentation;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone segment</c>: the semantic segmentation verbs.</summary>
internal static class SegmentCommand
{
    public static Command Create(CliConsole console) =>
        new("segment", "Semantic segmentation with DeepLabV3 on a MobileOne (or MobileNetV3-Large) backbone: train, evaluate, predict, export, and score predicted masks.")
        {
            Train(console), Eval(console), Predict(console), Export(console), Score(console),
        };

    private static Command Train(CliConsole console)
    {
        var command = new Command("train", "Train DeepLabV3 on a VOC-format data set (images/{train,val}/ and masks/{train,val}/ with train.txt and val.txt, or Pascal VOC's own layout) " +
            "with the shared recipe and torchvision's segmentation augmentation; validated by mIoU at full resolution; resumable, with metrics.jsonl and plots in --out.");
        var data = new Option<string>("--data") { Description = "The data set folder (./mobileone data mosaic --task segment writes one)." };
        var backbone = new Option<string>("--backbone") { Description = "The backbone.", DefaultValueFactory = _ => "mobileone_s0" };
        backbone.AcceptOnlyFromAmong([.. SegmenterConfig.Backbones]);
        var classes = new Option<int?>("--num-classes") { Description = "Classes, background included (default: the lines of the data's classes.txt; required without one, e.g. 21 for Pascal VOC)." };
        CliValidation.AtLeast(classes, 1);
        var stride = new Option<int>("--output-stride") { Description = "Output stride of a MobileOne backbone: 16, or 8 (dilated stage 4, atrous rates doubled).", DefaultValueFactory = _ => 16 };
        stride.AcceptOnlyFromAmong([.. SegmenterConfig.OutputStrides.Select(s => s.ToString(CultureInfo.InvariantCulture))]);
        var aux = new Option<bool>("--aux") { Description = "Add the FCN auxiliary head on the stride-8 features (its loss weighs 0.5)." };
        var init = new Option<FileInfo?>("--init") { Description = "Start the MobileOne backbone from this classification checkpoint (train-time, any layout); its classifier is left out." };
        var labels = MaskLabelsOption();
        TrainingFlags.AddTaskTraining(command, data, [backbone, classes, stride, aux, init, labels], "runs/segment", TrainingFlags.RecipeTask.Segment, SegmentationTask.Recipe,
            parsed => SegmentationTask.ForRun(parsed.GetValue(data)!, parsed.GetValue(backbone)!, parsed.GetValue(init)?.FullName, parsed.GetValue(classes),
                parsed.GetValue(stride), parsed.GetValue(aux), parsed.GetValue(labels)!),
            SegmentationTask.Train, "segment train", "mIoU", console);
        return command;
    }

    private static Option<string> MaskLabelsOption()
    {
        var labels = new Option<string>("--mask-labels")
        {
            Description = "How mask values become labels: voc (the value is the class, 255 ignored; the mosaic's too) or ade20k (0 ignored, the others one down).",
            DefaultValueFactory = _ => "voc",
        };
        labels.AcceptOnlyFromAmong([.. MaskLabelNames.All.Keys]);
        return labels;
    }

    private static (Option<FileInfo> Checkpoint, Option<FileInfo?> Config) CheckpointOptions(Command command, bool required = true)
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "A segmenter checkpoint (last.pth.tar, best.pth.tar or ema.pth.tar of a segment train run).", Required = required };
        var config = new Option<FileInfo?>("--config") { Description = "Its model_config.json (default: the one beside the checkpoint)." };
        command.Add(checkpoint);
        command.Add(config);
        return (checkpoint, config);
    }

    private static LoadedSegmenter Load(ParseResult parsed, (Option<FileInfo> Checkpoint, Option<FileInfo?> Config) options) =>
        SegmenterCheckpoint.Load(parsed.GetValue(options.Checkpoint)!.FullName, parsed.GetValue(options.Config)?.FullName);

    private static Command Eval(CliConsole console)
    {
        var command = new Command("eval", "mIoU, pixel accuracy and per-class IoU of a segmenter on a split of a VOC-format data set at full resolution, for the model and, " +
            "when its MobileOne backbone folds, the folded model, which must agree; or of an exported segmenter (float or int8) in ONNX Runtime.");
        var checkpoint = CheckpointOptions(command, required: false);
        var onnx = SharedOptions.OnnxInstead(command, checkpoint.Checkpoint, "An exported segmenter (segment export, or its int8 form from quantize) to evaluate in ONNX Runtime instead.", checkpoint.Config);
        var data = new Option<string>("--data") { Description = "The data set folder.", Required = true };
        var split = new Option<string>("--split") { Description = "The split to score (its list is SPLIT.txt).", DefaultValueFactory = _ => "val" };
        var batch = new Option<int>("--batch") { Description = "Images per forward pass (consecutive images of one size).", DefaultValueFactory = _ => 8 };
        CliValidation.AtLeast(batch, 1);
        var workers = new Option<int>("--workers") { Description = "Threads decoding images.", DefaultValueFactory = _ => 2 };
        CliValidation.AtLeast(workers, 1);
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {model: {mIoU, pixel_accuracy, per_class_iou}, folded: {...} or null, max_difference}." };
        var labels = MaskLabelsOption();
        foreach (var o in new Option[] { data, split, labels, batch, workers, json }) command.Add(o);
        command.SetAction(parsed =>
        {
            var maskLabels = MaskLabelNames.Parse(parsed.GetValue(labels)!);
            if (parsed.GetValue(onnx) is { } file)
            {
                using var graph = new OnnxSegmenter(file.FullName);
                var set = SegmentationData.Open(parsed.GetValue(data)!, parsed.GetValue(split)!, graph.NumClasses, maskLabels);
                var scored = SegmentationEvaluator.EvaluateOnnx(graph, set, parsed.GetValue(batch), parsed.GetValue(workers), FoldedEvalOutput.Progress(console));
                return FoldedEvalOutput.Print(console, parsed.GetValue(json), scored.Score.ToJson(), null, 0, SegmenterEvalReport.Tolerance, () =>
                {
                    console.Out.WriteLine($"{graph.Metadata.GetValueOrDefault("model", "segmenter")} in ONNX Runtime: {graph.Source}");
                    Print(console, scored.Score);
                }, "segmenter's scores");
            }
            var segmenter = Load(parsed, checkpoint);
            var opened = SegmentationData.Open(parsed.GetValue(data)!, parsed.GetValue(split)!, segmenter.Config.NumClasses, maskLabels);
            var report = SegmentationEvaluator.EvaluateCheckpoint(segmenter, opened, parsed.GetValue(batch), parsed.GetValue(workers), FoldedEvalOutput.Progress(console));
            return FoldedEvalOutput.Print(console, parsed.GetValue(json), report.Model.Score.ToJson(), report.Folded?.Score.ToJson(), report.MaxDifference,
                SegmenterEvalReport.Tolerance, () => PrintReport(console, segmenter, report), "segmenter's scores");
        });
        return command;
    }

    private static void PrintReport(CliConsole console, LoadedSegmenter segmenter, SegmenterEvalReport report)
    {
        console.Out.WriteLine($"{segmenter.Config.Name}{(segmenter.Fused ? " (folded)" : "")}: {segmenter.Path}");
        Print(console, report.Model.Score);
        if (report.Folded is null) return;
        console.Out.WriteLine("folded backbone:");
        Print(console, report.Folded.Score);
        console.Out.WriteLine($"folded vs model: largest difference of the scores {report.MaxDifference:G3} (agree within {SegmenterEvalReport.Tolerance})");
    }

    private static Command Predict(CliConsole console)
    {
        var command = new Command("predict", "Segment an image at its own resolution: writes the mask (8-bit PNG, the class index per pixel) and a colour overlay on the image into --out, " +
            "and prints the classes found as JSON.");
        var checkpoint = CheckpointOptions(command);
        var image = new Option<FileInfo>("--image") { Description = "A PNG or JPEG image.", Required = true };
        var outDir = new Option<string>("--out") { Description = "Folder for IMAGE_mask.png and IMAGE_overlay.png.", DefaultValueFactory = _ => "." };
        foreach (var o in new Option[] { image, outDir }) command.Add(o);
        command.SetAction(parsed =>
        {
            var segmenter = Load(parsed, checkpoint);
            var path = parsed.GetValue(image)!.FullName;
            var names = Training.RunFolder.Of(segmenter.Path)?.ReadClassNames();
            var (found, mask, overlay) = SegmenterPrediction.PredictAndDraw(segmenter, path, names);
            var dir = Directory.CreateDirectory(parsed.GetValue(outDir)!).FullName;
            var stem = Path.GetFileNameWithoutExtension(path);
            string maskPath = Path.Combine(dir, stem + "_mask.png"), overlayPath = Path.Combine(dir, stem + "_overlay.png");
            IO.AtomicFile.WriteAllBytes(maskPath, mask);
            IO.AtomicFile.WriteAllBytes(overlayPath, overlay);
            console.Out.WriteLine(found.ToJson());
            console.Error.WriteLine($"mask in {maskPath}; overlay in {overlayPath}");
            return 0;
        });
        return command;
    }

    private static Command Export(CliConsole console)
    {
        var command = new Command("export", "Export a segmenter to ONNX for any input size (batch, height and width free; logits [N, K, H, W] at the input's size), " +
            "a MobileOne backbone folded first, no BatchNorm left, the auxiliary head left out; checked with ONNX Runtime against TorchSharp at two sizes before it is written.");
        var checkpoint = CheckpointOptions(command);
        var output = SharedOptions.Output("ONNX file to write (atomically).");
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset ({MobileOne.Export.SegmenterExportOptions.SupportedOpsets[0]}-{MobileOne.Export.SegmenterExportOptions.SupportedOpsets[^1]}).", DefaultValueFactory = _ => 17,
        };
        foreach (var o in new Option[] { output, opset }) command.Add(o);
        command.SetAction(parsed =>
        {
            var segmenter = Load(parsed, checkpoint);
            console.Out.WriteLine($"read {segmenter.Path}: {segmenter.Config.Name}, {segmenter.Config.NumClasses} classes{(segmenter.Fused ? " (folded)" : "")}");
            var options = new MobileOne.Export.SegmenterExportOptions(segmenter.Config)
            {
                Opset = parsed.GetValue(opset), ClassNames = Training.RunFolder.Of(segmenter.Path)?.ReadClassNames(),
            }.Validated();
            var path = parsed.GetValue(output)!.FullName;
            var check = Inference.SegmenterExportCheck.ExportChecked(segmenter.Model, path, options);
            console.Out.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB, opset {options.Opset}, input [N, 3, H, W] normalised with ImageNet's mean and std; " +
                $"output logits [N, {segmenter.Config.NumClasses}, H, W])");
            console.Out.WriteLine(check.Summary);
            return 0;
        });
        return command;
    }

    private static Command Score(CliConsole console)
    {
        var command = new Command("score", "Score predicted class masks against true ones (PNG files paired by name, 8-bit grey or palette): one confusion matrix over all pixels; mIoU over the classes present, pixel accuracy, per-class IoU.");
        var gt = new Option<string>("--gt") { Description = "The folder of true masks.", Required = true };
        var pred = new Option<string>("--pred") { Description = "The folder of predicted masks, one of the same name per true mask.", Required = true };
        var classes = new Option<int>("--num-classes") { Description = "Classes; a label is below this or the ignore label.", Required = true };
        CliValidation.AtLeast(classes, 1);
        var ignore = new Option<int>("--ignore") { Description = "The true label of pixels left out.", DefaultValueFactory = _ => SegmentationData.Ignore };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {mIoU, pixel_accuracy, per_class_iou} (null for a class absent from both)." };
        foreach (var o in new Option[] { gt, pred, classes, ignore, json }) command.Add(o);
        command.SetAction(parsed =>
        {
            var score = SegmentationScorer.ScoreFolders(parsed.GetValue(gt)!, parsed.GetValue(pred)!, parsed.GetValue(classes), parsed.GetValue(ignore));
            if (parsed.GetValue(json)) console.Out.WriteLine(score.ToJson());
            else Print(console, score);
            return 0;
        });
        return command;
    }

    private static void Print(CliConsole console, SegmentationScore score)
    {
        static string F(double? v) => v?.ToString("F4", CultureInfo.InvariantCulture) ?? "-";
        console.Out.WriteLine($"mIoU {F(score.MeanIoU)}  pixel accuracy {F(score.PixelAccuracy)}");
        for (int c = 0; c < score.PerClassIoU.Count; c++)
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"class {c,3}  IoU {F(score.PerClassIoU[c])}"));
    }
}
