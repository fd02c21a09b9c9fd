using System.Diagnostics;
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

namespace MobileOne.Quickstart;

/// <summary>
/// The whole life of a model in about ten minutes on two cores: trains a MobileOne (S0's layout for
/// 28x28) on Fashion-MNIST, folds it, evaluates both forms, exports ONNX, measures latency and writes
/// <c>report.md</c>. An unfinished run in the folder is resumed; a finished one is started over.
/// </summary>
public static class QuickstartPipeline
{
    /// <summary>Epochs of the classification quickstart's cosine schedule.</summary>
    public const int DefaultEpochs = 4;

    /// <summary>Seconds of training after which the classification quickstart stops, wherever its schedule is.</summary>
    public const double DefaultBudgetSeconds = 720;

    /// <summary>Trains with <paramref name="recipe"/> in <paramref name="runDirectory"/>, or resumes the run there (recipe null).</summary>
    public delegate TrainingResult TrainRunner(TrainOptions? recipe, string runDirectory, bool resume);

    private const int Size = 28;

    /// <summary>The quickstart's training recipe: the paper's, scaled to Fashion-MNIST and a 10-minute budget.</summary>
    public static TrainOptions Recipe(int epochs, double budget, int threads) => TrainOptions.FashionMnist(channels: 1) with
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

    /// <summary>
    /// The first half of a task's quickstart on a mosaic: write the data set <paramref name="data"/> into
    /// <paramref name="dataDir"/> unless <paramref name="marker"/> shows it complete, then train <paramref name="model"/>
    /// in <paramref name="outDir"/>/run, resuming an unfinished run (one without <c>report.md</c> beside it) or starting
    /// afresh with <paramref name="recipe"/>. The training result is null when training was interrupted.
    /// </summary>
    public static (RunFolder Run, TrainingResult? Trained) TrainOnMosaic(Data.Mosaic.MosaicOptions data, string dataDir, string outDir, string model, string marker,
        Func<bool, TrainOptions?> recipe, TrainRunner train, Action<string> progress)
    {
        FashionMnistInstaller.Ensure(progress);
        if (!File.Exists(marker))
        {
            progress($"quickstart: 1/4 writing the mosaic data set ({data.TrainImages:N0} + {data.ValImages:N0} images of {data.Size}x{data.Size}) to {dataDir}");
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
            Data.Mosaic.MosaicGenerator.Generate(data, dataDir);
        }
        var run = new RunFolder(Path.Combine(outDir, "run"));
        bool resume = run.CanResume && !File.Exists(Path.Combine(outDir, "report.md"));
        if (!resume && Directory.Exists(run.Path)) Directory.Delete(run.Path, recursive: true);
        progress(resume ? $"quickstart: resuming the unfinished run in {run.Path}" : $"quickstart: 2/4 training {model}");
        var trained = train(recipe(resume), run.Path, resume);
        return (run, trained.Outcome == TrainingOutcome.Interrupted ? null : trained);
    }

    /// <summary>
    /// Runs the quickstart in <paramref name="outDir"/>, training through <paramref name="train"/> (which
    /// owns signals and progress display) and telling each stage to <paramref name="progress"/>. Returns
    /// null when training was interrupted (the run stays resumable).
    /// </summary>
    public static QuickstartResult? Run(string outDir, int epochs, double budget, int threads, TrainRunner train, Action<string> progress, Action<string>? warn = null)
    {
        var total = Stopwatch.StartNew();
        FashionMnistInstaller.Ensure(progress);
        var (run, resume) = OpenRunFolder(outDir, progress);
        progress(resume ? $"quickstart: resuming the unfinished run in {run.Path}" : "quickstart: 1/5 training MobileOne (S0's design, k=4) on Fashion-MNIST");
        var trained = train(resume ? null : Recipe(epochs, budget, threads), run.Path, resume);
        if (trained.Outcome == TrainingOutcome.Interrupted) return null;
        var options = run.ReadConfig();

        progress("quickstart: 2/5 reparameterising and evaluating both forms on the 10,000 test images");
        var best = MobileOneCheckpoint.Load(run.File("best.pth.tar")).Model;
        best.eval();
        using var fused = Reparameterizer.Fuse(best, warn);
        MobileOneCheckpoint.Save(fused, run.File("fused.pth.tar"));
        var test = FashionMnist.Load(train: false);
        var (evalUnfused, evalFused) = Evaluate(best, fused, test, options, run);

        progress("quickstart: 3/5 exporting ONNX");
        ExportOnnx(fused, options, test.ClassNames, run);

        progress("quickstart: 4/5 measuring latency (batch 1, 1x28x28, 1 thread, fused and train-time alternating)");
        var latency = MeasureLatency(best, fused, run);

        progress("quickstart: 5/5 writing the report");
        var report = QuickstartReport.Markdown(options, trained, evalUnfused, evalFused, latency, total.Elapsed);
        AtomicFile.WriteAllText(run.File("report.md"), report);
        return new QuickstartResult(evalUnfused, evalFused, latency, run.File("report.md"), total.Elapsed);
    }

    // A folder with a report holds a finished quickstart: start over there rather than refuse.
    private static (RunFolder Run, bool Resume) OpenRunFolder(string outDir, Action<string> progress)
    {
        var run = new RunFolder(outDir);
        bool resume = run.CanResume && !File.Exists(run.File("report.md"));
        if (!resume && Directory.EnumerateFileSystemEntries(run.Path).Any())
        {
            progress($"quickstart: starting over in {run.Path} (the previous quickstart there had finished)");
            Directory.Delete(run.Path, recursive: true);
            run = new RunFolder(outDir);
        }
        return (run, resume);
    }

    private static (EvaluationResult Unfused, EvaluationResult Fused) Evaluate(MobileOneModel best, MobileOneModel fused, IdxFolder test, TrainOptions options, RunFolder run)
    {
        var loader = options.EvalLoader(test, 500);
        var unfused = Evaluator.Evaluate(best, loader, Size, test.ClassNames);
        var folded = Evaluator.Evaluate(fused, loader, Size, test.ClassNames);
        TrainingPlots.Confusion(folded, run.File("confusion.png"));
        return (unfused, folded);
    }

    // Recorded as every export records a run: its evaluation preprocessing and class names; checked before it is written.
    internal static void ExportOnnx(MobileOneModel fused, TrainOptions options, IReadOnlyList<string> classNames, RunFolder run) =>
        OnnxExportCheck.ExportChecked(fused, run.File("model.onnx"), new DeploySettings(options.EvalPreprocessing(), classNames).Recorded(new OnnxExportOptions
        {
            InputHeight = Size, InputWidth = Size,
            Metadata = new Dictionary<string, string> { ["dataset"] = "fashion-mnist" },
        }));

    // Train-time and fused in TorchSharp, fused in ONNX Runtime, alternating.
    private static IReadOnlyList<LatencyStats> MeasureLatency(MobileOneModel best, MobileOneModel fused, RunFolder run)
    {
        torch.set_num_threads(1);
        var rng = new Random(0);
        var input = Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var torchFused = new TorchEngine(fused);
        using var torchUnfused = new TorchEngine(best);
        using var onnx = new OnnxEngine(run.File("model.onnx"), threads: 1);
        return LatencyBenchmark.MeasureInterleaved(
            [torchUnfused.Prepare(input, 1, Size, Size), torchFused.Prepare(input, 1, Size, Size), onnx.Prepare(input, 1, Size, Size)], warmup: 20, runs: 300, batch: 1);
    }
}
