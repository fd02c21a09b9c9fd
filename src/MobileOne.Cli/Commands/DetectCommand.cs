using System.CommandLine;
using System.Globalization;
using MobileOne.Detection;
using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone detect</c>: the object detection verbs.</summary>
internal static class DetectCommand
{
    public static Command Create(CliConsole console) =>
        new("detect", "Object detection with SSDLite on a MobileOne (or MobileNetV3-Large) backbone: train, evaluate, predict, export, and score COCO-format results.")
        {
            Train(console), Eval(console), Predict(console), Export(console), Score(console),
        };

    private static Command Train(CliConsole console)
    {
        var command = new Command("train", "Train SSDLite on a COCO-format data set (annotations/instances_{train,val}.json with images/{train,val}/, or COCO's own layout) with the shared recipe; resumable, with metrics.jsonl and plots in --out.");
        var data = new Option<string>("--data") { Description = "The data set folder (./mobileone data mosaic --task detect writes one)." };
        var backbone = new Option<string>("--backbone") { Description = "The backbone.", DefaultValueFactory = _ => "mobileone_s0" };
        backbone.AcceptOnlyFromAmong([.. DetectorConfig.Backbones]);
        var init = new Option<FileInfo?>("--init") { Description = "Start the MobileOne backbone from this classification checkpoint (train-time, any layout); its classifier is left out." };
        TrainingFlags.AddTaskTraining(command, data, [backbone, init], "runs/detect", TrainingFlags.RecipeTask.Detect, DetectionTask.Recipe,
            parsed => DetectionTask.ForRun(parsed.GetValue(data)!, parsed.GetValue(backbone)!, parsed.GetValue(init)?.FullName),
            DetectionTask.Train, "detect train", "mAP@[.5:.95]", console);
        return command;
    }

    private static (Option<FileInfo> Checkpoint, Option<FileInfo?> Config) CheckpointOptions(Command command, bool required = true)
    {
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "A detector checkpoint (last.pth.tar, best.pth.tar or ema.pth.tar of a detect train run, or a folded one).", Required = required };
        var config = new Option<FileInfo?>("--config") { Description = "Its model_config.json (default: the one beside the checkpoint)." };
        command.Add(checkpoint);
        command.Add(config);
        return (checkpoint, config);
    }

    private static Command Eval(CliConsole console)
    {
        var command = new Command("eval", "COCO's 12 box statistics of a detector on a split of a COCO-format data set, for the model and, when its MobileOne backbone folds, the folded model, which must agree; " +
            "or of an exported detector (float or int8) in ONNX Runtime.");
        var (checkpoint, config) = CheckpointOptions(command, required: false);
        var onnx = SharedOptions.OnnxInstead(command, checkpoint, "An exported detector (detect export, or its int8 form from quantize) to evaluate in ONNX Runtime instead.", config);
        var data = new Option<string>("--data") { Description = "The data set folder.", Required = true };
        var split = new Option<string>("--split") { Description = "The split to score.", DefaultValueFactory = _ => "val" };
        split.AcceptOnlyFromAmong("train", "val");
        var batch = new Option<int>("--batch") { Description = "Images per forward pass.", DefaultValueFactory = _ => 16 };
        var workers = new Option<int>("--workers") { Description = "Threads preparing images.", DefaultValueFactory = _ => 2 };
        var detections = new Option<string?>("--detections") { Description = "Also write the model's detections as a COCO results file here." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {model: {AP, ...}, folded: {...} or null, max_difference}." };
        foreach (var o in new Option[] { data, split, batch, workers, detections, json }) command.Add(o);
        command.SetAction(parsed =>
        {
            var set = DetectionData.Split(parsed.GetValue(data)!, parsed.GetValue(split)!);
            if (parsed.GetValue(onnx) is { } file)
            {
                using var graph = new OnnxDetector(file.FullName);
                var scored = DetectionEvaluator.EvaluateOnnx(graph, set, parsed.GetValue(batch), parsed.GetValue(workers), FoldedEvalOutput.Progress(console));
                if (parsed.GetValue(detections) is { } results) CocoResults.Save(results, scored.Detections);
                return FoldedEvalOutput.Print(console, parsed.GetValue(json), scored.Stats.ToJson(), null, 0, DetectorEvalReport.Tolerance,
                    () => PrintStats(console, $"{graph.Metadata.GetValueOrDefault("model", "detector")} in ONNX Runtime: {graph.Source}", scored), "detector's statistics");
            }
            var detector = DetectorCheckpoint.Load(parsed.GetValue(checkpoint)!.FullName, parsed.GetValue(config)?.FullName);
            var report = DetectionEvaluator.EvaluateCheckpoint(detector, set, parsed.GetValue(batch), parsed.GetValue(workers), FoldedEvalOutput.Progress(console));
            if (parsed.GetValue(detections) is { } path) CocoResults.Save(path, report.Model.Detections);
            return FoldedEvalOutput.Print(console, parsed.GetValue(json), report.Model.Stats.ToJson(), report.Folded?.Stats.ToJson(), report.MaxDifference,
                DetectorEvalReport.Tolerance, () => PrintReport(console, detector, report), "detector's statistics");
        });
        return command;
    }

    private static void PrintStats(CliConsole console, string title, DetectionEvaluation evaluation)
    {
        console.Out.WriteLine(title);
        foreach (var line in evaluation.Stats.SummaryLines()) console.Out.WriteLine(line);
    }

    private static void PrintReport(CliConsole console, LoadedDetector detector, DetectorEvalReport report)
    {
        PrintStats(console, $"{detector.Config.Name}{(detector.Fused ? " (folded)" : "")}: {detector.Path}", report.Model);
        if (report.Folded is null) return;
        PrintStats(console, "folded backbone:", report.Folded);
        console.Out.WriteLine($"folded vs model: largest difference of the 12 statistics {report.MaxDifference:G3} (agree within {DetectorEvalReport.Tolerance})");
    }

    private static Command Predict(CliConsole console)
    {
        var command = new Command("predict", "Detect objects in an image: prints boxes, labels and scores as JSON and draws them into a PNG.");
        var (checkpoint, config) = CheckpointOptions(command);
        var image = new Option<FileInfo>("--image") { Description = "A PNG or JPEG image.", Required = true };
        var minScore = new Option<double>("--min-score") { Description = "Report boxes scoring at least this.", DefaultValueFactory = _ => 0.3 };
        var draw = new Option<string?>("--draw") { Description = "The PNG with the boxes drawn (default: IMAGE_detections.png in the current folder)." };
        foreach (var o in new Option[] { image, minScore, draw }) command.Add(o);
        command.SetAction(parsed =>
        {
            var detector = DetectorCheckpoint.Load(parsed.GetValue(checkpoint)!.FullName, parsed.GetValue(config)?.FullName);
            var path = parsed.GetValue(image)!.FullName;
            var (found, drawn) = DetectorPrediction.PredictAndDraw(detector, path, parsed.GetValue(minScore));
            var png = parsed.GetValue(draw) ?? Path.GetFileNameWithoutExtension(path) + "_detections.png";
            IO.AtomicFile.WriteAllBytes(png, drawn);
            console.Out.WriteLine(found.ToJson(detector.Config));
            console.Error.WriteLine($"{found.Boxes.Count} objects; drawn in {png}");
            return 0;
        });
        return command;
    }

    private static Command Export(CliConsole console)
    {
        var command = new Command("export", "Export a detector to ONNX with its boxes decoded in the graph and non-maximum suppression in it (batch 1; det_boxes, det_scores, det_labels) " +
            "or, with --no-nms, every anchor's boxes and scores (any batch); a MobileOne backbone folded first, no BatchNorm left; checked with ONNX Runtime against TorchSharp before it is written.");
        var (checkpoint, config) = CheckpointOptions(command);
        var output = SharedOptions.Output("ONNX file to write (atomically).");
        var noNms = new Option<bool>("--no-nms") { Description = "Leave non-maximum suppression out: outputs boxes [N, A, 4] and scores [N, A, K] of every anchor, for any batch." };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset ({DetectorExportOptions.SupportedOpsets[0]}-{DetectorExportOptions.SupportedOpsets[^1]}).", DefaultValueFactory = _ => 17,
        };
        foreach (var o in new Option[] { output, noNms, opset }) command.Add(o);
        command.SetAction(parsed =>
        {
            var detector = DetectorCheckpoint.Load(parsed.GetValue(checkpoint)!.FullName, parsed.GetValue(config)?.FullName);
            console.Out.WriteLine($"read {detector.Path}: {detector.Config.Name}, {detector.Config.NumClasses} classes{(detector.Fused ? " (folded)" : "")}");
            var options = new DetectorExportOptions(detector.Config) { Opset = parsed.GetValue(opset), Nms = !parsed.GetValue(noNms) }.Validated();
            var path = parsed.GetValue(output)!.FullName;
            var check = DetectorExportCheck.ExportChecked(detector.Model, path, options);
            int s = detector.Config.ImageSize;
            console.Out.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e6:F1} MB, opset {options.Opset}, input [{(options.Nms ? "1" : "N")}, 3, {s}, {s}] in [-1, 1]; " +
                (options.Nms ? "outputs det_boxes [D, 4], det_scores [D], det_labels [D])" : "outputs boxes [N, A, 4], scores [N, A, K])"));
            console.Out.WriteLine(check.Summary);
            return 0;
        });
        return command;
    }

    private static Command Score(CliConsole console)
    {
        var command = new Command("score", "Score a COCO results file against COCO-format ground truth with COCO's box metric (pycocotools' 12 statistics).");
        var gt = new Option<string>("--gt") { Description = "Ground truth: a COCO instances_*.json file.", Required = true };
        var detections = new Option<string>("--detections") { Description = "Results: a JSON array of {image_id, category_id, bbox: [x, y, w, h], score}.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl." };
        foreach (var o in new Option[] { gt, detections, json }) command.Add(o);
        command.SetAction(parsed =>
        {
            var truth = CocoDataset.Load(parsed.GetValue(gt)!);
            var stats = CocoEvaluator.Evaluate(truth, CocoResults.Load(parsed.GetValue(detections)!, truth));
            if (parsed.GetValue(json)) console.Out.WriteLine(stats.ToJson(indented: true));
            else foreach (var line in stats.SummaryLines()) console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }
}
