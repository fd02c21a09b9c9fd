using System.CommandLine;
using System.Globalization;
using MobileOne.Segmentation;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone segment</c>: the semantic segmentation verbs.</summary>
internal static class SegmentCommand
{
    public static Command Create(CliConsole console) =>
        new("segment", "Semantic segmentation with DeepLabV3 on a MobileOne (or MobileNetV3-Large) backbone: score predicted masks.")
        {
            Score(console),
        };

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
