using System.CommandLine;
using System.Globalization;
using MobileOne.Detection;
using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone detect</c>: the object detection verbs.</summary>
internal static class DetectCommand
{
    public static Command Create(CliConsole console)
    {
        var detect = new Command("detect", "Object detection with SSDLite on a MobileOne (or MobileNetV3-Large) backbone: train, evaluate, predict, export, and score COCO-format results.");
        detect.Add(Train(console));
        detect.Add(Score(console));
        return detect;
    }

    private static Command Train(CliConsole console)
    {
        var command = new Command("train", "Train SSDLite on a COCO-format data set (annotations/instances_{train,val}.json with images/{train,val}/, or COCO's own layout) with the shared recipe; resumable, with metrics.jsonl and plots in --out.");
        var data = new Option<string>("--data") { Description = "The data set folder (./mobileone data mosaic --task detect writes one)." };
        var backbone = new Option<string>("--backbone") { Description = "The backbone.", DefaultValueFactory = _ => "mobileone_s0" };
        backbone.AcceptOnlyFromAmong([.. DetectorConfig.Backbones]);
        var init = new Option<FileInfo?>("--init") { Description = "Start the MobileOne backbone from this classification checkpoint (train-time, any layout); its classifier is left out." };
        var outDir = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => "runs/detect" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder exactly where its last checkpoint left it." };
        var recipe = TrainingFlags.RecipeFlags(classification: false);
        var run = TrainingFlags.RunFlags();
        foreach (var o in new Option[] { data, backbone, init, outDir, resume }.Concat(recipe.Concat(run).Select(f => f.Option))) command.Add(o);
        command.Validators.Add(r =>
        {
            if (r.GetResult(resume) is null && r.GetResult(data) is null) r.AddError("--data is required (or --resume RUN)");
            if (r.GetResult(resume) is not null)
                foreach (var o in new Option[] { data, backbone, init }.Concat(recipe.Select(f => f.Option)))
                    if (r.GetResult(o) is { Implicit: false }) r.AddError($"{o.Name} cannot change when resuming: the run keeps its own configuration");
        });
        command.SetAction(parsed =>
        {
            string? resumeDir = parsed.GetValue(resume);
            string runDir = resumeDir ?? parsed.GetValue(outDir)!;
            TrainOptions options = resumeDir is not null
                ? run.Aggregate(new TrainOptions(), (o, f) => f.Apply(parsed, o))
                : recipe.Concat(run).Aggregate(DetectionTask.ForRun(parsed.GetValue(data)!, parsed.GetValue(backbone)!, parsed.GetValue(init)?.FullName), (o, f) => f.Apply(parsed, o));
            var result = TrainingFlags.RunWithSignals((observer, cancel) => DetectionTask.Train(options, runDir, resumeDir is not null, observer, cancel),
                $"./mobileone detect train --resume {runDir}", console);
            if (result.History.Count > 0)
                console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "best validation mAP@[.5:.95] {0:F4}; weights in {1} (last.pth.tar, best.pth.tar{2})",
                    result.BestScore, result.RunDirectory, result.History[^1].EmaVal is null ? "" : ", ema.pth.tar"));
            return result.Outcome == TrainingOutcome.Interrupted ? 130 : 0;
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
