using System.CommandLine;
using System.Globalization;
using MobileOne.Classification;
using MobileOne.Data;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone train</c>: the paper's recipe, with resumable, observable runs, from random or pretrained weights.</summary>
internal static class TrainCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("train", "Train a MobileOne with the paper's recipe, from random weights or fine-tuning a checkpoint; writes metrics, plots and atomic, resumable checkpoints into --out.");
        var data = new Option<string>("--data")
        {
            Description = "fashion-mnist; a folder of MNIST-format IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, " +
                          "t10k-labels-idx1-ubyte, each optionally .gz: MNIST, KMNIST, EMNIST, Fashion-MNIST); or a folder with train/CLASS/*.jpg and val/CLASS/*.jpg (ImageFolder).",
        };
        var model = new ModelOptions(command);
        var init = new Option<FileInfo?>("--init")
        {
            Description = "Start from this checkpoint (Apple, timm or mmpretrain layout; .pth/.pth.tar or .safetensors; not fused). Its architecture is used unless " +
                          "--variant/--config names one; a classifier of another class count starts afresh.",
        };
        var numClasses = new Option<int?>("--num-classes") { Description = "Classes of the model (default: the data's)." };
        var channels = new Option<int?>("--channels") { Description = "Input channels: 3, or 1 for grayscale data as one channel (default: the --init checkpoint's; else 3 for an ImageFolder, 1 for IDX data)." };
        var outDir = new Option<string>("--out") { Description = "Run folder (config, metrics.jsonl, plots, checkpoints).", DefaultValueFactory = _ => "runs/train" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder exactly where its last checkpoint left it." };
        var recipe = TrainingFlags.RecipeFlags();
        var run = TrainingFlags.RunFlags();
        foreach (var o in new Option[] { data, init, numClasses, channels, outDir, resume }.Concat(recipe.Concat(run).Select(f => f.Option))) command.Add(o);
        command.Validators.Add(r =>
        {
            if (r.GetResult(resume) is null && r.GetResult(data) is null) r.AddError("--data is required (or --resume RUN)");
            if (r.GetResult(resume) is not null)
                foreach (var o in new Option[] { data, init, numClasses, channels, model.Variant, model.Config }.Concat(recipe.Select(f => f.Option)))
                    if (r.GetResult(o) is { Implicit: false }) r.AddError($"{o.Name} cannot change when resuming: the run keeps its own configuration");
        });
        command.SetAction(parsed =>
        {
            bool resuming = parsed.GetValue(resume) is not null;
            TrainOptions options;
            string runDir;
            if (resuming)
            {
                runDir = parsed.GetValue(resume)!;
                options = run.Aggregate(new TrainOptions(), (o, f) => f.Apply(parsed, o));
            }
            else
            {
                runDir = parsed.GetValue(outDir)!;
                // The data set decides the defaults; the checkpoint and the flags given override them.
                var preset = TrainOptions.ForRun(parsed.GetValue(data)!, parsed.GetValue(channels), model.Resolve(parsed), parsed.GetValue(init)?.FullName,
                    parsed.GetValue(numClasses));
                options = recipe.Concat(run).Aggregate(preset, (o, f) => f.Apply(parsed, o));
            }
            var result = RunWithSignals(options, runDir, resuming, console);
            return result.Outcome == TrainingOutcome.Interrupted ? 130 : 0;
        });
        return command;
    }


    /// <summary>Trains a classifier with <see cref="TrainingFlags.RunWithSignals"/> and prints where its weights are.</summary>
    internal static TrainingResult RunWithSignals(TrainOptions? options, string runDir, bool resume, CliConsole console)
    {
        var result = TrainingFlags.RunWithSignals((observer, cancel) => ClassificationTask.Train(options, runDir, resume, observer, cancel),
            $"./mobileone train --resume {runDir}", console);
        if (result.History.Count > 0)
            console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "best validation top-1 {0:P2}; weights in {1} (last.pth.tar, best.pth.tar{2})",
                result.BestScore, result.RunDirectory, result.History[^1].EmaVal is null ? "" : ", ema.pth.tar"));
        return result;
    }
}
