using System.Diagnostics;
using System.Globalization;
using System.Text;
using MobileOne.Data;
using MobileOne.Data.Mosaic;
using MobileOne.IO;
using MobileOne.Segmentation;
using MobileOne.Training;

namespace MobileOne.Quickstart;

/// <summary>What a finished segmentation quickstart measured, and where its report and picture are.</summary>
public sealed record SegmentationQuickstartResult(SegmenterEvalReport Evaluation, string ReportPath, string OverlayPath, TimeSpan Elapsed)
{
    /// <summary>The closing summary.</summary>
    public IEnumerable<string> Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        var s = Evaluation.Model.Score;
        yield return string.Format(inv, "mosaic validation mIoU {0:F3}, pixel accuracy {1:F3} (folded backbone: mIoU {2:F3})",
            s.MeanIoU ?? 0, s.PixelAccuracy ?? 0, Evaluation.Folded?.Score.MeanIoU ?? s.MeanIoU ?? 0);
        yield return $"overlays: {OverlayPath}";
        yield return $"report: {ReportPath} ({Elapsed.TotalMinutes:F1} min in all)";
    }
}

/// <summary>
/// The segmentation quickstart, about fifteen minutes on two cores: write a small mosaic data set in VOC's format
/// from Fashion-MNIST, train DeepLabV3 on MobileOne-S0 on it, score the best checkpoint and its folded form by mIoU at
/// full resolution, draw its predictions over validation images, and write <c>report.md</c>.
/// </summary>
public static class SegmentationQuickstart
{
    /// <summary>
    /// Epochs of the quickstart's cosine schedule: about as many as two cores train DeepLabV3-S0 on the mosaic in the
    /// budget, so that the schedule ends rather than being cut.
    /// </summary>
    public const int DefaultEpochs = 6;

    /// <summary>Seconds of training after which the quickstart stops, wherever its schedule is.</summary>
    public const double DefaultBudgetSeconds = 780;

    /// <summary>The data set the quickstart writes: images of <see cref="MosaicOptions.Size"/> pixels, seed 0.</summary>
    public static MosaicOptions Data { get; } = new() { Task = MosaicTask.Segment, TrainImages = 2000, ValImages = 400, Size = 128, Seed = 0 };

    /// <summary>The quickstart's recipe on the data set in <paramref name="data"/>.</summary>
    public static TrainOptions Recipe(string data, int epochs, double budget, int threads) =>
        SegmentationTask.ForRun(data, "mobileone_s0") with
        {
            ImageSize = Data.Size,
            Epochs = epochs,
            BatchSize = 16,
            Lr = 0.05,
            WarmupEpochs = 0.5,
            Threads = threads,
            CheckpointEvery = 100,
            TimeBudgetSeconds = budget,
        };

    /// <summary>
    /// Runs the quickstart in <paramref name="outDir"/> (the data set in its <c>data</c> folder, the run beside it),
    /// training through <paramref name="train"/>. Returns null when training was interrupted (the run stays resumable).
    /// </summary>
    public static SegmentationQuickstartResult? Run(string outDir, int epochs, double budget, int threads, QuickstartPipeline.TrainRunner train, Action<string> progress)
    {
        var total = Stopwatch.StartNew();
        var data = Path.Combine(outDir, "data");
        var (run, trained) = QuickstartPipeline.TrainOnMosaic(Data, data, outDir, "DeepLabV3 on MobileOne-S0", Path.Combine(data, "val.txt"),
            resume => resume ? null : Recipe(data, epochs, budget, threads), train, progress);
        if (trained is null) return null;

        progress("quickstart: 3/4 scoring the best checkpoint and its folded form by mIoU at full resolution");
        var segmenter = SegmenterCheckpoint.Load(run.File("best.pth.tar"));
        var evaluation = SegmentationEvaluator.EvaluateCheckpoint(segmenter, SegmentationData.Open(data, "val", segmenter.Config.NumClasses), 16, 2);

        progress("quickstart: 4/4 drawing predictions and writing the report");
        var overlays = Path.Combine(outDir, "overlays.png");
        AtomicFile.WriteAllBytes(overlays, ImageEncoder.RgbPng(OverlaySheet(segmenter, data)));
        var report = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(report, Report(run, trained, evaluation, total.Elapsed));
        return new SegmentationQuickstartResult(evaluation, report, overlays, total.Elapsed);
    }

    /// <summary>Four validation images side by side with the predicted classes over them, above the same with the true ones.</summary>
    public static RgbImage OverlaySheet(LoadedSegmenter segmenter, string data)
    {
        var set = SegmentationData.Open(data, "val", segmenter.Config.NumClasses);
        var samples = Enumerable.Range(0, Math.Min(4, set.Samples.Count)).Select(set.Load).ToList();
        var predicted = samples.Select(s => SegmenterPrediction.Overlay(s.Image, SegmenterPrediction.Predict(segmenter, s.Image)));
        var truth = samples.Select(s => SegmenterPrediction.Overlay(s.Image, s.Mask));
        return ImageOps.Grid([predicted.ToList(), truth.ToList()]);
    }

    private static string Report(RunFolder run, TrainingResult trained, SegmenterEvalReport evaluation, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = run.ReadConfig();
        var names = run.ReadClassNames();
        var sb = new StringBuilder();
        sb.AppendLine("# MobileOne.NET segmentation quickstart report").AppendLine();
        sb.AppendLine($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores by `./mobileone quickstart --task segment`; {elapsed.TotalMinutes:F1} min in all.").AppendLine();
        sb.AppendLine("## Data").AppendLine();
        sb.AppendLine(string.Format(inv, "A mosaic of Fashion-MNIST items on textured backgrounds in VOC's format (`./mobileone data mosaic --task segment --train {0} --val {1} --size {2} --seed {3}`): `data/`.",
            Data.TrainImages, Data.ValImages, Data.Size, Data.Seed)).AppendLine();
        sb.AppendLine("## Training").AppendLine();
        sb.AppendLine(string.Format(inv, "DeepLabV3 on MobileOne-S0 (output stride 16) from random weights (branch initialisation '{10}'), {0}-pixel crops, {1} epochs planned, batch {2}, SGD momentum {3}, peak LR {4:G3} after {5} of warm-up, then cosine, weight decay {6:G2}, augmentation '{7}'. Outcome: {8}, {9:N0} steps.",
            o.ImageSize, o.Epochs, o.BatchSize, o.Momentum, o.EffectiveLr, QuickstartReport.Epochs(o.WarmupEpochs), o.WeightDecay, o.SegmentAugment, trained.Outcome, trained.Steps, o.BranchInit)).AppendLine();
        sb.AppendLine("| epoch | train loss | val loss | val mIoU | val pixel accuracy | seconds |").AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var m in trained.History)
            sb.AppendLine(string.Format(inv, "| {0} | {1:F3} | {2:F3} | {3:F3} | {4:F3} | {5:F0} |", m.Epoch + 1, m.TrainLoss, m.ValLoss, m.Val["mIoU"], m.Val["pixel_accuracy"], m.Seconds));
        sb.AppendLine().AppendLine("![loss](run/loss.png)").AppendLine().AppendLine("![mIoU](run/mIoU.png)").AppendLine();
        var score = evaluation.Model.Score;
        sb.AppendLine("## The best checkpoint at full resolution").AppendLine();
        sb.AppendLine(string.Format(inv, "mIoU {0:F4}, pixel accuracy {1:F4}.", score.MeanIoU ?? 0, score.PixelAccuracy ?? 0)).AppendLine();
        sb.AppendLine("| class | IoU |").AppendLine("|---|---:|");
        for (int c = 0; c < score.PerClassIoU.Count; c++)
            sb.AppendLine($"| {(names is not null && c < names.Count ? names[c] : c.ToString(inv))} | {score.PerClassIoU[c]?.ToString("F3", inv) ?? "-"} |");
        sb.AppendLine();
        if (evaluation.Folded is not null)
            sb.AppendLine(string.Format(inv, "Folded backbone (one convolution per MobileOne block): mIoU {0:F4}; the scores differ from the train-time model's by at most {1:G3}.",
                evaluation.Folded.Score.MeanIoU ?? 0, evaluation.MaxDifference)).AppendLine();
        sb.AppendLine("Predictions over four validation images (top) and the true masks (bottom):").AppendLine().AppendLine("![overlays](overlays.png)");
        return sb.ToString();
    }
}
