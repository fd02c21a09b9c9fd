using System.CommandLine;
using MobileOne.Detection;
using MobileOne.Quickstart;
using MobileOne.Segmentation;

namespace MobileOne.Cli.Commands;

/// <summary>
/// <c>mobileone quickstart</c>: the whole life of a model in about ten minutes on two cores
/// (<see cref="QuickstartPipeline"/>); this command parses its options and prints its progress.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("quickstart", "Train MobileOne on Fashion-MNIST (~10 min on 2 cores), reparameterise, evaluate fused vs unfused, benchmark, export ONNX, and write runs/quickstart/report.md; " +
                                                "with --task detect, train SSDLite on a mosaic data set (~15 min) and write runs/quickstart-detect/report.md and predictions.png; " +
                                                "with --task segment, train DeepLabV3 on a mosaic data set (~15 min) and write runs/quickstart-segment/report.md and overlays.png.");
        var task = new Option<string>("--task") { Description = "classify (Fashion-MNIST), detect (SSDLite on a Fashion-MNIST mosaic in COCO's format) or segment (DeepLabV3 on a mosaic in VOC's format).", DefaultValueFactory = _ => "classify" };
        task.AcceptOnlyFromAmong("classify", "detect", "segment");
        var outDir = new Option<string?>("--out") { Description = "Run folder (default runs/quickstart, runs/quickstart-detect or runs/quickstart-segment)." };
        var epochs = new Option<int?>("--epochs") { Description = $"Training epochs (default {QuickstartPipeline.DefaultEpochs} for classify, {DetectionQuickstart.DefaultEpochs} for detect, {SegmentationQuickstart.DefaultEpochs} for segment)." };
        var budget = new Option<double?>("--time-budget") { Description = $"Stop training (resumably) after this many seconds, whatever the epochs (default {QuickstartPipeline.DefaultBudgetSeconds} for classify, {DetectionQuickstart.DefaultBudgetSeconds} for detect, {SegmentationQuickstart.DefaultBudgetSeconds} for segment)." };
        var threads = SharedOptions.Threads("LibTorch threads for training (0 = all cores).", 0);
        foreach (var o in new Option[] { task, outDir, epochs, budget, threads }) command.Add(o);
        CliValidation.AtLeast(epochs, 1);
        command.SetAction(parsed =>
        {
            string name = parsed.GetValue(task)!, dir = parsed.GetValue(outDir) ?? (name == "classify" ? "runs/quickstart" : $"runs/quickstart-{name}");
            int t = parsed.GetValue(threads);
            // The flags given, else the task's own defaults.
            int Epochs(int taskDefault) => parsed.GetValue(epochs) ?? taskDefault;
            double Budget(double taskDefault) => parsed.GetValue(budget) ?? taskDefault;
            return name switch
            {
                "detect" => Finish(DetectionQuickstart.Run(dir, Epochs(DetectionQuickstart.DefaultEpochs), Budget(DetectionQuickstart.DefaultBudgetSeconds), t,
                    Runner(DetectionTask.Train, name, dir, console), console.Out.WriteLine)?.Summary(), console),
                "segment" => Finish(SegmentationQuickstart.Run(dir, Epochs(SegmentationQuickstart.DefaultEpochs), Budget(SegmentationQuickstart.DefaultBudgetSeconds), t,
                    Runner(SegmentationTask.Train, name, dir, console), console.Out.WriteLine)?.Summary(), console),
                _ => Finish(QuickstartPipeline.Run(dir, Epochs(QuickstartPipeline.DefaultEpochs), Budget(QuickstartPipeline.DefaultBudgetSeconds), t,
                    (recipe, runDir, resume) => TrainCommand.RunWithSignals(recipe, runDir, resume, console), console.Out.WriteLine, console.Warn)?.Summary(), console),
            };
        });
        return command;
    }

    // A task's training with Ctrl-C handled, the quickstart named as what resumes it.
    private static QuickstartPipeline.TrainRunner Runner(TrainingFlags.TaskTrainer train, string task, string outDir, CliConsole console) =>
        (recipe, runDir, resume) => TrainingFlags.RunWithSignals((observer, cancel) => train(recipe, runDir, resume, observer, cancel),
            $"./mobileone quickstart --task {task} --out {outDir}", console);

    // The closing summary; null (interrupted, resumable) is exit code 130.
    private static int Finish(IEnumerable<string>? summary, CliConsole console)
    {
        if (summary is null) return 130;
        console.Out.WriteLine();
        foreach (var line in summary) console.Out.WriteLine(line);
        return 0;
    }
}
