using System.Diagnostics;
using System.Globalization;
using System.Text;
using MobileOne.Data;
using MobileOne.Data.Mosaic;
using MobileOne.Detection;
using MobileOne.IO;
using MobileOne.Training;

namespace MobileOne.Quickstart;

/// <summary>What a finished detection quickstart measured, and where its report and picture are.</summary>
public sealed record DetectionQuickstartResult(DetectorEvalReport Evaluation, string ReportPath, string PredictionsPath, TimeSpan Elapsed)
{
    /// <summary>The closing summary.</summary>
    public IEnumerable<string> Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        var s = Evaluation.Model.Stats;
        yield return string.Format(inv, "mosaic validation mAP@[.5:.95] {0:F3}, AP50 {1:F3}, AP75 {2:F3} (folded backbone: {3:F3})",
            s.AP, s.AP50, s.AP75, Evaluation.Folded?.Stats.AP ?? s.AP);
        yield return $"predictions drawn: {PredictionsPath}";
        yield return $"report: {ReportPath} ({Elapsed.TotalMinutes:F1} min in all)";
    }
}

/// <summary>
/// The detection quickstart, about fifteen minutes on two cores: write a small mosaic data set in COCO's format
/// from Fashion-MNIST, train SSDLite on MobileOne-S0 on it, score the best checkpoint and its folded form with
/// COCO's metric, draw its predictions on validation images, and write <c>report.md</c>.
/// </summary>
public static class DetectionQuickstart
{
    /// <summary>
    /// Epochs of the quickstart's cosine schedule: as many as two cores train SSDLite-S0 on the mosaic in about the
    /// budget (about 90 s an epoch at 128x128), so that the schedule ends rather than being cut.
    /// </summary>
    public const int DefaultEpochs = 8;

    /// <summary>Seconds of training after which the quickstart stops, wherever its schedule is.</summary>
    public const double DefaultBudgetSeconds = 780;

    /// <summary>The data set the quickstart writes: images of <see cref="MosaicOptions.Size"/> pixels, seed 0.</summary>
    public static MosaicOptions Data { get; } = new() { Task = MosaicTask.Detect, TrainImages = 2000, ValImages = 400, Size = 128, Seed = 0 };

    /// <summary>The quickstart's recipe on the data set in <paramref name="data"/>.</summary>
    public static TrainOptions Recipe(string data, int epochs, double budget, int threads) =>
        DetectionTask.ForRun(data, "mobileone_s0") with
        {
            ImageSize = Data.Size,
            Epochs = epochs,
            BatchSize = 32,
            Lr = 0.05,
            WarmupEpochs = 1,
            BoxAugment = "flip",
            Threads = threads,
            CheckpointEvery = 100,
            TimeBudgetSeconds = budget,
        };

    /// <summary>
    /// Runs the quickstart in <paramref name="outDir"/> (the data set in its <c>data</c> folder, the run beside it),
    /// training through <paramref name="train"/>. Returns null when training was interrupted (the run stays resumable).
    /// </summary>
    public static DetectionQuickstartResult? Run(string outDir, int epochs, double budget, int threads, QuickstartPipeline.TrainRunner train, Action<string> progress)
    {
        var total = Stopwatch.StartNew();
        var data = Path.Combine(outDir, "data");
        var (run, trained) = QuickstartPipeline.TrainOnMosaic(Data, data, outDir, "SSDLite on MobileOne-S0", Path.Combine(data, MosaicGenerator.InstancesPath("val")),
            resume => resume ? null : Recipe(data, epochs, budget, threads), train, progress);
        if (trained is null) return null;

        progress("quickstart: 3/4 scoring the best checkpoint and its folded form with COCO's metric");
        var detector = DetectorCheckpoint.Load(run.File("best.pth.tar"));
        var evaluation = DetectionEvaluator.EvaluateCheckpoint(detector, DetectionData.Split(data, "val"), 32, 2);

        progress("quickstart: 4/4 drawing predictions and writing the report");
        var predictions = Path.Combine(outDir, "predictions.png");
        AtomicFile.WriteAllBytes(predictions, PredictionSheet(detector, data));
        var report = Path.Combine(outDir, "report.md");
        AtomicFile.WriteAllText(report, Report(run, trained, evaluation, total.Elapsed));
        return new DetectionQuickstartResult(evaluation, report, predictions, total.Elapsed);
    }

    // Four validation images side by side with what the detector finds (score 0.5 or more).
    private static byte[] PredictionSheet(LoadedDetector detector, string data)
    {
        var set = DetectionData.Split(data, "val");
        var tiles = Enumerable.Range(0, Math.Min(4, set.Images.Count)).Select(i =>
        {
            var image = ImageDecoder.Decode(set.ImagePath(i));
            return (image, (IEnumerable<DetectedBox>)DetectorPrediction.Predict(detector, image, 0.5));
        }).ToList();
        return DetectionDrawing.Sheet(tiles, detector.Config.LabelName, 256);
    }

    private static string Report(RunFolder run, TrainingResult trained, DetectorEvalReport evaluation, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = run.ReadConfig();
        var sb = new StringBuilder();
        sb.AppendLine("# MobileOne.NET detection quickstart report").AppendLine();
        sb.AppendLine($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores by `./mobileone quickstart --task detect`; {elapsed.TotalMinutes:F1} min in all.").AppendLine();
        sb.AppendLine("## Data").AppendLine();
        sb.AppendLine(string.Format(inv, "A mosaic of Fashion-MNIST items on textured backgrounds in COCO's format (`./mobileone data mosaic --task detect --train {0} --val {1} --size {2} --seed {3}`): `data/`.",
            Data.TrainImages, Data.ValImages, Data.Size, Data.Seed)).AppendLine();
        sb.AppendLine("## Training").AppendLine();
        sb.AppendLine(string.Format(inv, "SSDLite on MobileOne-S0 from random weights (branch initialisation '{11}'), {0}x{0} input, {1} epochs planned, batch {2}, SGD momentum {3}, peak LR {4:G3} after {5} of warm-up, then cosine, weight decay {6:G2}, EMA {7}, augmentation '{8}'. Outcome: {9}, {10:N0} steps.",
            o.ImageSize, o.Epochs, o.BatchSize, o.Momentum, o.EffectiveLr, QuickstartReport.Epochs(o.WarmupEpochs), o.WeightDecay, o.EmaDecay, o.BoxAugment, trained.Outcome, trained.Steps, o.BranchInit)).AppendLine();
        sb.AppendLine("| epoch | train loss | val mAP | val AP50 | EMA val mAP | seconds |").AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var m in trained.History)
            sb.AppendLine(string.Format(inv, "| {0} | {1:F3} | {2:F3} | {3:F3} | {4} | {5:F0} |", m.Epoch + 1, m.TrainLoss, m.Val["mAP"], m.Val["AP50"],
                m.EmaVal is { } e ? e["mAP"].ToString("F3", inv) : "-", m.Seconds));
        sb.AppendLine().AppendLine("![loss](run/loss.png)").AppendLine().AppendLine("![mAP](run/mAP.png)").AppendLine();
        sb.AppendLine("## COCO's statistics of the best checkpoint").AppendLine().AppendLine("```");
        foreach (var line in evaluation.Model.Stats.SummaryLines()) sb.AppendLine(line);
        sb.AppendLine("```").AppendLine();
        if (evaluation.Folded is not null)
            sb.AppendLine(string.Format(inv, "Folded backbone (one convolution per MobileOne block): mAP {0:F4}; the 12 statistics differ from the train-time model's by at most {1:G3}.",
                evaluation.Folded.Stats.AP, evaluation.MaxDifference)).AppendLine();
        sb.AppendLine("![predictions](predictions.png)");
        return sb.ToString();
    }
}
