using System.CommandLine;
using MobileOne.Detection;
using MobileOne.Quickstart;

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
                                                "with --task detect, train SSDLite on a mosaic data set (~15 min) and write runs/quickstart-detect/report.md and predictions.png.");
        var task = new Option<string>("--task") { Description = "classify (Fashion-MNIST) or detect (SSDLite on a Fashion-MNIST mosaic in COCO's format).", DefaultValueFactory = _ => "classify" };
        task.AcceptOnlyFromAmong("classify", "detect");
        var outDir = new Option<string?>("--out") { Description = "Run folder (default runs/quickstart, or runs/quickstart-detect)." };
        var epochs = new Option<int?>("--epochs") { Description = "Training epochs (default 4 for classify, 12 for detect; the time budget usually ends training first)." };
        var budget = new Option<double?>("--time-budget") { Description = "Stop training (resumably) after this many seconds, whatever the epochs (default 720, or 780 for detect)." };
        var threads = SharedOptions.Threads("LibTorch threads for training (0 = all cores).", 0);
        foreach (var o in new Option[] { task, outDir, epochs, budget, threads }) command.Add(o);
        CliValidation.AtLeast(epochs, 1);
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(task) == "detect") return Detect(parsed.GetValue(outDir) ?? "runs/quickstart-detect", parsed.GetValue(epochs) ?? 12,
                parsed.GetValue(budget) ?? 780, parsed.GetValue(threads), console);
            var result = QuickstartPipeline.Run(parsed.GetValue(outDir) ?? "runs/quickstart", parsed.GetValue(epochs) ?? 4, parsed.GetValue(budget) ?? 720, parsed.GetValue(threads),
                (recipe, runDir, resume) => TrainCommand.RunWithSignals(recipe, runDir, resume, console), console.Out.WriteLine, console.Warn);
            if (result is null) return 130;
            console.Out.WriteLine();
            foreach (var line in result.Summary()) console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }

    private static int Detect(string outDir, int epochs, double budget, int threads, CliConsole console)
    {
        var result = DetectionQuickstart.Run(outDir, epochs, budget, threads,
            (recipe, runDir, resume) => TrainingFlags.RunWithSignals((observer, cancel) => DetectionTask.Train(recipe, runDir, resume, observer, cancel),
                $"./mobileone quickstart --task detect --out {outDir}", console),
            console.Out.WriteLine);
        if (result is null) return 130;
        console.Out.WriteLine();
        foreach (var line in result.Summary()) console.Out.WriteLine(line);
        return 0;
    }
}
