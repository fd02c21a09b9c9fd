using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MobileOne.Benchmarks;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.IO;
using MobileOne.Models;
using MobileOne.Reparameterization;
using MobileOne.Training;
using TorchSharp;

namespace MobileOne.Cli.Commands;

/// <summary>
/// <c>mobileone quickstart</c>: the whole life of a model in about ten minutes on two cores. Trains a
/// MobileOne (S0's layout for 28x28) on Fashion-MNIST, folds it, checks the folded model against the
/// train-time one, measures both, exports ONNX and writes a report.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("quickstart", "Train MobileOne on Fashion-MNIST (~10 min on 2 cores), reparameterise, evaluate fused vs unfused, benchmark, export ONNX, and write runs/quickstart/report.md.");
        var outDir = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => "runs/quickstart" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (4 fit in about 10 minutes on 2 cores).", DefaultValueFactory = _ => 4 };
        var budget = new Option<double>("--time-budget") { Description = "Stop training (resumably) after this many seconds, whatever the epochs.", DefaultValueFactory = _ => 720 };
        var threads = new Option<int>("--threads") { Description = "LibTorch threads for training (0 = all cores).", DefaultValueFactory = _ => 0 };
        foreach (var o in new Option[] { outDir, epochs, budget, threads }) command.Add(o);
        CliValidation.AtLeast(epochs, 1);
        command.SetAction(parsed => Run(console, parsed.GetValue(outDir)!, parsed.GetValue(epochs), parsed.GetValue(budget), parsed.GetValue(threads)));
        return command;
    }

    /// <summary>The quickstart's training recipe: the paper's, scaled to Fashion-MNIST and a 10-minute budget.</summary>
    internal static TrainOptions Recipe(int epochs, double budget, int threads) => TrainOptions.FashionMnist(channels: 1) with
    {
        Epochs = epochs,
        BatchSize = 128,
        Lr = 0.1,
        WarmupEpochs = 0.2,
        EmaDecay = 0.999,
        // Four epochs underfit; they need no cropping on top of the flips.
        CropScaleMin = 1.0,
        Threads = threads,
        CheckpointEvery = 200,
        TimeBudgetSeconds = budget,
    };

    private static int Run(CliConsole console, string outDir, int epochs, double budget, int threads)
    {
        var total = Stopwatch.StartNew();
        EnsureFashionMnist(console);
        var run = new RunFolder(outDir);
        bool resume = run.CanResume && !File.Exists(run.File("report.md"));
        if (!resume && Directory.EnumerateFileSystemEntries(run.Path).Any())
        {
            console.Out.WriteLine($"quickstart: starting over in {run.Path} (the previous quickstart there had finished)");
            Directory.Delete(run.Path, recursive: true);
            run = new RunFolder(outDir);
        }
        console.Out.WriteLine(resume ? $"quickstart: resuming the unfinished run in {run.Path}" : "quickstart: 1/5 training MobileOne (S0's design, k=4) on Fashion-MNIST");
        var result = TrainCommand.RunWithSignals(resume ? null : Recipe(epochs, budget, threads), run.Path, resume, console);
        if (result.Outcome == TrainingOutcome.Interrupted) return 130;
        var options = run.ReadConfig();

        console.Out.WriteLine("quickstart: 2/5 reparameterising and evaluating both forms on the 10,000 test images");
        var best = MobileOneCheckpoint.Load(run.File("best.pth.tar")).Model;
        best.eval();
        using var fused = Reparameterizer.Fuse(best, console.Warn);
        MobileOneCheckpoint.Save(fused, run.File("fused.pth.tar"));
        var test = FashionMnist.Load(train: false);
        var loader = options.EvalLoader(test, 500);
        var evalUnfused = Evaluator.Evaluate(best, loader, 28, test.ClassNames);
        var evalFused = Evaluator.Evaluate(fused, loader, 28, test.ClassNames);
        TrainingPlots.Confusion(evalFused, run.File("confusion.png"));

        console.Out.WriteLine("quickstart: 3/5 exporting ONNX");
        OnnxExporter.Export(fused, run.File("model.onnx"), new OnnxExportOptions
        {
            InputHeight = 28, InputWidth = 28, Mean = [options.Mean[0]], Std = [options.Std[0]], CropPct = 1.0,
            Metadata = new Dictionary<string, string> { ["dataset"] = "fashion-mnist", ["labels"] = string.Join("|", test.ClassNames) },
        });

        console.Out.WriteLine("quickstart: 4/5 measuring latency (batch 1, 1x28x28, 1 thread, fused and train-time alternating)");
        torch.set_num_threads(1);
        var rng = new Random(0);
        var input = Enumerable.Range(0, 28 * 28).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var torchFused = new TorchEngine(fused);
        using var torchUnfused = new TorchEngine(best);
        using var onnx = new OnnxEngine(run.File("model.onnx"), threads: 1);
        var lat = LatencyBenchmark.MeasureInterleaved(
            [torchUnfused.Prepare(input, 1, 28, 28), torchFused.Prepare(input, 1, 28, 28), onnx.Prepare(input, 1, 28, 28)], warmup: 20, runs: 300, batch: 1);

        console.Out.WriteLine("quickstart: 5/5 writing the report");
        var report = Report(options, result, evalUnfused, evalFused, lat, total.Elapsed, run);
        AtomicFile.WriteAllText(run.File("report.md"), report);
        var inv = CultureInfo.InvariantCulture;
        console.Out.WriteLine();
        console.Out.WriteLine(string.Format(inv, "Fashion-MNIST test accuracy: {0:P2} (fused: {1:P2}; the two forms agree on {2:P2} of images)",
            evalUnfused.Top1, evalFused.Top1, evalUnfused.Agreement(evalFused)));
        console.Out.WriteLine(string.Format(inv, "latency, batch 1, 1 thread: train-time {0:F2} ms, fused {1:F2} ms (TorchSharp), fused {2:F2} ms (ONNX Runtime)",
            lat[0].MedianMs, lat[1].MedianMs, lat[2].MedianMs));
        console.Out.WriteLine($"report: {run.File("report.md")} ({total.Elapsed.TotalMinutes:F1} min in all)");
        return 0;
    }

    private static void EnsureFashionMnist(CliConsole console)
    {
        if (FashionMnist.IsInstalled()) return;
        console.Out.WriteLine("quickstart: Fashion-MNIST is not installed; installing Debian's package dataset-fashion-mnist");
        if (Environment.UserName != "root")
            throw new MobileOneException("Fashion-MNIST is missing and installing it needs root: run 'sudo apt-get install dataset-fashion-mnist', then the quickstart again");
        foreach (var args in new[] { "update -qq", "install -y -qq dataset-fashion-mnist" })
        {
            var psi = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var p = Process.Start(psi) ?? throw new MobileOneException("could not start apt-get");
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new MobileOneException($"apt-get {args} failed ({p.ExitCode}): {err.Result.Trim()}; install dataset-fashion-mnist by hand");
        }
        if (!FashionMnist.IsInstalled()) throw new MobileOneException($"dataset-fashion-mnist installed, but {FashionMnist.DefaultRoot} lacks the files");
    }

    private static string Report(TrainOptions o, TrainingResult r, EvaluationResult unfused, EvaluationResult fused, IReadOnlyList<LatencyStats> lat, TimeSpan elapsed, RunFolder run)
    {
        var inv = CultureInfo.InvariantCulture;
        var config = MobileOneConfig.FromJson(o.Model);
        var profile = ModelProfile.Compute(config, 28, 28);
        var sb = new StringBuilder();
        sb.AppendLine("# MobileOne.NET quickstart report").AppendLine();
        sb.AppendLine($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores by `./mobileone quickstart`; {elapsed.TotalMinutes:F1} min in all.").AppendLine();
        sb.AppendLine("## Model").AppendLine();
        sb.AppendLine($"MobileOne-S0's design adapted to 28x28 grayscale input: {config}. The stem and stage 4 keep the");
        sb.AppendLine("resolution (output stride 8 instead of 32, feature maps 28, 14, 7, 4, 4); the stages hold [1, 2, 3, 1]");
        sb.AppendLine("block pairs of 32, 64, 128, 512 channels instead of S0's [2, 8, 10, 1] of 48, 128, 256, 1024, so that");
        sb.AppendLine("training fits the budget; every block keeps S0's k = 4 conv branches plus the scale and skip branches.").AppendLine();
        sb.AppendLine(string.Format(inv, "Parameters: {0:N0} train-time, {1:N0} fused. MACs at 28x28: {2:N0} train-time, {3:N0} fused.",
            profile.ParamsUnfused, profile.ParamsFused, profile.MacsUnfused, profile.MacsFused)).AppendLine();
        sb.AppendLine("## Training").AppendLine();
        sb.AppendLine(string.Format(inv, "Fashion-MNIST, 60,000 training images, {0} epochs planned, batch {1}, SGD momentum {2}, peak LR {3:G3} with {4} epochs of warm-up then cosine,",
            o.Epochs, o.BatchSize, o.Momentum, o.EffectiveLr, o.WarmupEpochs));
        sb.AppendLine(string.Format(inv, "weight decay {0:G2} annealed to {1:G2} (none on BatchNorm and biases), label smoothing {2}, EMA {3}, {4}.",
            o.WeightDecay, o.WeightDecayEnd, o.LabelSmoothing, o.EmaDecay,
            o.CropScaleMin >= 1 ? "horizontal flips (no cropping: four epochs underfit, they need no more regularisation)" : $"RandomResizedCrop (scale {o.CropScaleMin}-1) and flips"));
        sb.AppendLine($"Outcome: {r.Outcome}, {r.Steps:N0} steps.").AppendLine();
        sb.AppendLine("| epoch | train loss | train top-1 | test top-1 | EMA test top-1 | seconds | img/s |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in r.History)
            sb.AppendLine(string.Format(inv, "| {0} | {1:F4} | {2:P2} | {3:P2} | {4} | {5:F0} | {6:F0} |", m.Epoch + 1, m.TrainLoss, m.Train["top1"], m.Val["top1"],
                m.EmaVal is { } e ? e["top1"].ToString("P2", inv) : "-", m.Seconds, m.ImagesPerSecond));
        sb.AppendLine().AppendLine("![loss](loss.png)").AppendLine().AppendLine("![accuracy](accuracy.png)").AppendLine();
        sb.AppendLine("## Reparameterisation").AppendLine();
        sb.AppendLine("The best checkpoint (`best.pth.tar`) was folded into a plain Conv+ReLU chain (`fused.pth.tar`, `model.onnx`).").AppendLine();
        sb.AppendLine("| | test top-1 | test top-5 |").AppendLine("|---|---:|---:|");
        sb.AppendLine(string.Format(inv, "| train-time (multi-branch) | {0:P2} | {1:P2} |", unfused.Top1, unfused.Top5));
        sb.AppendLine(string.Format(inv, "| fused | {0:P2} | {1:P2} |", fused.Top1, fused.Top5)).AppendLine();
        sb.AppendLine(string.Format(inv, "The two forms predict the same class for {0:P3} of the 10,000 test images.", unfused.Agreement(fused))).AppendLine();
        sb.AppendLine("![confusion matrix](confusion.png)").AppendLine();
        var perClass = fused.PerClassAccuracy();
        sb.AppendLine("| class | accuracy (fused) |").AppendLine("|---|---:|");
        for (int i = 0; i < perClass.Length; i++) sb.AppendLine(string.Format(inv, "| {0} | {1:P2} |", fused.ClassNames[i], perClass[i]));
        sb.AppendLine().AppendLine("## Latency").AppendLine();
        sb.AppendLine("Batch 1, 1x28x28, 1 thread, 20 warm-up and 300 timed runs, the three targets alternating in blocks of 10.").AppendLine();
        sb.AppendLine("| | min ms | median ms | p90 ms |").AppendLine("|---|---:|---:|---:|");
        string[] names = ["train-time, TorchSharp", "fused, TorchSharp", "fused, ONNX Runtime"];
        for (int i = 0; i < 3; i++) sb.AppendLine(string.Format(inv, "| {0} | {1:F3} | {2:F3} | {3:F3} |", names[i], lat[i].MinMs, lat[i].MedianMs, lat[i].P90Ms));
        sb.AppendLine().AppendLine(string.Format(inv, "Folding the branches makes the TorchSharp model {0:F2}x faster; ONNX Runtime runs the fused model {1:F2}x faster still.",
            lat[0].MedianMs / lat[1].MedianMs, lat[1].MedianMs / lat[2].MedianMs));
        sb.AppendLine().AppendLine("## Files").AppendLine();
        sb.AppendLine("`config.json` (the recipe), `model_config.json`, `metrics.jsonl`, `last.pth.tar`, `ema.pth.tar`, `best.pth.tar` (train-time, Apple layout),");
        sb.AppendLine("`fused.pth.tar`, `model.onnx`, `state.safetensors` (resumable state), `loss.png`, `accuracy.png`, `confusion.png`.");
        return sb.ToString();
    }
}
