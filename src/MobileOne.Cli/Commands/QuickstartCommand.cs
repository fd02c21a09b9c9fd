using System.CommandLine;
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
        var command = new Command("quickstart", "Train MobileOne on Fashion-MNIST (~10 min on 2 cores), reparameterise, evaluate fused vs unfused, benchmark, export ONNX, and write runs/quickstart/report.md.");
        var outDir = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => "runs/quickstart" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (4 fit in about 10 minutes on 2 cores).", DefaultValueFactory = _ => 4 };
        var budget = new Option<double>("--time-budget") { Description = "Stop training (resumably) after this many seconds, whatever the epochs.", DefaultValueFactory = _ => 720 };
        var threads = SharedOptions.Threads("LibTorch threads for training (0 = all cores).", 0);
        foreach (var o in new Option[] { outDir, epochs, budget, threads }) command.Add(o);
        CliValidation.AtLeast(epochs, 1);
        command.SetAction(parsed =>
        {
            var result = QuickstartPipeline.Run(parsed.GetValue(outDir)!, parsed.GetValue(epochs), parsed.GetValue(budget), parsed.GetValue(threads),
                (recipe, runDir, resume) => TrainCommand.RunWithSignals(recipe, runDir, resume, console), console.Out.WriteLine, console.Warn);
            if (result is null) return 130;
            console.Out.WriteLine();
            foreach (var line in result.Summary()) console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }
}
