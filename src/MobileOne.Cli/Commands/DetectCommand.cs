using System.CommandLine;
using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone detect score</c>: object detection verbs.</summary>
internal static class DetectCommand
{
    public static Command Create(CliConsole console) => new("detect", "Object detection: score COCO-format results.") { Score(console) };

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
