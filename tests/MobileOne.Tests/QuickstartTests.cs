using MobileOne.Benchmarks;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Quickstart;
using MobileOne.Reparameterization;
using MobileOne.Training;
using Xunit;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The library behind the quickstart, reparam and export verbs: recipe, report, summary and the two checks.</summary>
public class QuickstartTests
{
    private static EvaluationResult Evaluation(double top1, int[] predictions) =>
        new(0.5, top1, 0.99, new long[10, 10], predictions, FashionMnist.Classes);

    [Fact]
    public void RecipeIsThePapersScaledToTenMinutes()
    {
        var recipe = QuickstartPipeline.Recipe(epochs: 4, budget: 720, threads: 2);
        Assert.Equal((4, 128, 0.1, 0.2, 0.999, 1.0, 2, 200, 720.0),
            (recipe.Epochs, recipe.BatchSize, recipe.Lr ?? 0, recipe.WarmupEpochs, recipe.EmaDecay, recipe.CropScaleMin, recipe.Threads, recipe.CheckpointEvery, recipe.TimeBudgetSeconds));
        Assert.Equal(QuickstartModel.FashionMnist(), MobileOneConfig.FromJson(recipe.Model));
    }

    [Fact]
    public void ReportAndSummaryNameEveryMeasurement()
    {
        var latency = new[] { new LatencyStats(2, 3, 4, 3, 0.1, 300, 1), new LatencyStats(1, 1.5, 2, 1.5, 0.1, 300, 1), new LatencyStats(0.5, 0.75, 1, 0.75, 0.1, 300, 1) };
        var history = new[] { new EpochMetrics(0, 100, new MetricSet(("loss", 0.6), ("top1", 0.8)), new MetricSet(("loss", 0.5), ("top1", 0.85), ("top5", 0.99)), new MetricSet(("loss", 0.5), ("top1", 0.86), ("top5", 0.99)), 0.01, 1e-4, 28, 30, 2000) };
        var trained = new TrainingResult(TrainingOutcome.Completed, 100, history, 0.85, "run");
        var report = QuickstartReport.Markdown(QuickstartPipeline.Recipe(4, 720, 0), trained, Evaluation(0.85, [1, 2]), Evaluation(0.85, [1, 2]), latency, TimeSpan.FromMinutes(9));
        foreach (var section in new[] { "## Model", "## Training", "## Reparameterisation", "## Latency", "## Files", "| 1 | 0.6000 |", "2.00x faster" })
            Assert.Contains(section, report);
        var summary = new QuickstartResult(Evaluation(0.85, [1, 2]), Evaluation(0.86, [1, 3]), latency, "run/report.md", TimeSpan.FromMinutes(9)).Summary().ToList();
        Assert.Equal("Fashion-MNIST test accuracy: 85.00 % (fused: 86.00 %; the two forms agree on 50.00 % of images)", summary[0]);
        Assert.Equal("report: run/report.md (9.0 min in all)", summary[2]);
    }

    [Fact]
    public void FoldAndExportChecksMeasureTheDifference()
    {
        var config = new MobileOneConfig([1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5], false, 2, 10);
        using var model = ModelFactory.Calibrated(config, seed: 3);
        using var fused = Reparameterizer.Fuse(model);
        var fold = FoldCheck.Run(model, fused, size: 32);
        Assert.True(fold.Agrees, fold.Summary);
        Assert.StartsWith("fused 9 blocks; max |train-time - fused| on a random 1x3x32x32 batch: ", fold.Summary);
        fold.EnsureAgrees();
        Assert.Contains("BatchNorm statistics may be corrupt", Assert.Throws<MobileOneException>((fold with { MaxDifference = double.NaN }).EnsureAgrees).Message);

        using var dir = new TempDir();
        var options = new OnnxExportOptions { DynamicSpatial = true };
        OnnxExporter.Export(fused, dir.File("m.onnx"), options);
        var check = OnnxExportCheck.Run(fused, dir.File("m.onnx"), options);
        Assert.Equal((193, 257), (check.Height, check.Width));
        Assert.True(check.MaxDifference < 1e-3, check.Summary);
    }
}
