using System.Globalization;
using System.Text;
using MobileOne.Benchmarks;
using MobileOne.Models;
using MobileOne.Training;

namespace MobileOne.Quickstart;

/// <summary>The quickstart's <c>report.md</c>: model, training, reparameterisation, latency and files.</summary>
internal static class QuickstartReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>"1 epoch", "0.5 epochs", "5 epochs".</summary>
    public static string Epochs(double n) => string.Format(Inv, n == 1 ? "{0} epoch" : "{0} epochs", n);

    /// <summary>The report as markdown.</summary>
    public static string Markdown(TrainOptions o, TrainingResult r, EvaluationResult unfused, EvaluationResult fused, IReadOnlyList<LatencyStats> lat, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# MobileOne.NET quickstart report").AppendLine();
        sb.AppendLine($"Generated {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores by `./mobileone quickstart`; {elapsed.TotalMinutes:F1} min in all.").AppendLine();
        Model(sb, MobileOneConfig.FromJson(o.Model));
        Training(sb, o, r);
        Reparameterisation(sb, unfused, fused);
        Latency(sb, lat);
        sb.AppendLine().AppendLine("## Files").AppendLine();
        sb.AppendLine("`config.json` (the recipe), `model_config.json`, `metrics.jsonl`, `last.pth.tar`, `ema.pth.tar`, `best.pth.tar` (train-time, Apple layout),");
        sb.AppendLine("`fused.pth.tar`, `model.onnx`, `state.safetensors` (resumable state), `loss.png`, `accuracy.png`, `confusion.png`.");
        return sb.ToString();
    }

    private static void Model(StringBuilder sb, MobileOneConfig config)
    {
        var profile = ModelProfile.Compute(config, 28, 28);
        sb.AppendLine("## Model").AppendLine();
        sb.AppendLine($"MobileOne-S0's design adapted to 28x28 grayscale input: {config}. The stem and stage 4 keep the");
        sb.AppendLine("resolution (output stride 8 instead of 32, feature maps 28, 14, 7, 4, 4); the stages hold [1, 2, 3, 1]");
        sb.AppendLine("block pairs of 32, 64, 128, 512 channels instead of S0's [2, 8, 10, 1] of 48, 128, 256, 1024, so that");
        sb.AppendLine("training fits the budget; every block keeps S0's k = 4 conv branches plus the scale and skip branches.").AppendLine();
        sb.AppendLine(string.Format(Inv, "Parameters: {0:N0} train-time, {1:N0} fused. MACs at 28x28: {2:N0} train-time, {3:N0} fused.",
            profile.ParamsUnfused, profile.ParamsFused, profile.MacsUnfused, profile.MacsFused)).AppendLine();
    }

    private static void Training(StringBuilder sb, TrainOptions o, TrainingResult r)
    {
        sb.AppendLine("## Training").AppendLine();
        sb.AppendLine(string.Format(Inv, "Fashion-MNIST, 60,000 training images, {0} epochs planned, batch {1}, SGD momentum {2}, peak LR {3:G3} after {4} of warm-up, then cosine,",
            o.Epochs, o.BatchSize, o.Momentum, o.EffectiveLr, Epochs(o.WarmupEpochs)));
        sb.AppendLine(string.Format(Inv, "weight decay {0:G2} annealed to {1:G2} (none on BatchNorm and biases), label smoothing {2}, EMA {3}, {4}.",
            o.WeightDecay, o.WeightDecayEnd, o.LabelSmoothing, o.EmaDecay,
            o.CropScaleMin >= 1 ? "horizontal flips (no cropping: four epochs underfit, they need no more regularisation)" : $"RandomResizedCrop (scale {o.CropScaleMin}-1) and flips"));
        sb.AppendLine($"Outcome: {r.Outcome}, {r.Steps:N0} steps.").AppendLine();
        sb.AppendLine("| epoch | train loss | train top-1 | test top-1 | EMA test top-1 | seconds | img/s |").AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in r.History)
            sb.AppendLine(string.Format(Inv, "| {0} | {1:F4} | {2:P2} | {3:P2} | {4} | {5:F0} | {6:F0} |", m.Epoch + 1, m.TrainLoss, m.Train["top1"], m.Val["top1"],
                m.EmaVal is { } e ? e["top1"].ToString("P2", Inv) : "-", m.Seconds, m.ImagesPerSecond));
        sb.AppendLine().AppendLine("![loss](loss.png)").AppendLine().AppendLine("![accuracy](accuracy.png)").AppendLine();
    }

    private static void Reparameterisation(StringBuilder sb, EvaluationResult unfused, EvaluationResult fused)
    {
        sb.AppendLine("## Reparameterisation").AppendLine();
        sb.AppendLine("The best checkpoint (`best.pth.tar`) was folded into a plain Conv+ReLU chain (`fused.pth.tar`, `model.onnx`).").AppendLine();
        sb.AppendLine("| | test top-1 | test top-5 |").AppendLine("|---|---:|---:|");
        sb.AppendLine(string.Format(Inv, "| train-time (multi-branch) | {0:P2} | {1:P2} |", unfused.Top1, unfused.Top5));
        sb.AppendLine(string.Format(Inv, "| fused | {0:P2} | {1:P2} |", fused.Top1, fused.Top5)).AppendLine();
        sb.AppendLine(string.Format(Inv, "The two forms predict the same class for {0:P3} of the 10,000 test images.", unfused.Agreement(fused))).AppendLine();
        sb.AppendLine("![confusion matrix](confusion.png)").AppendLine();
        var perClass = fused.PerClassAccuracy();
        sb.AppendLine("| class | accuracy (fused) |").AppendLine("|---|---:|");
        for (int i = 0; i < perClass.Length; i++) sb.AppendLine(string.Format(Inv, "| {0} | {1:P2} |", fused.ClassNames[i], perClass[i]));
    }

    private static void Latency(StringBuilder sb, IReadOnlyList<LatencyStats> lat)
    {
        sb.AppendLine().AppendLine("## Latency").AppendLine();
        sb.AppendLine("Batch 1, 1x28x28, 1 thread, 20 warm-up and 300 timed runs, the three targets alternating in blocks of 10.").AppendLine();
        sb.AppendLine("| | min ms | median ms | p90 ms |").AppendLine("|---|---:|---:|---:|");
        string[] names = ["train-time, TorchSharp", "fused, TorchSharp", "fused, ONNX Runtime"];
        for (int i = 0; i < 3; i++) sb.AppendLine(string.Format(Inv, "| {0} | {1:F3} | {2:F3} | {3:F3} |", names[i], lat[i].MinMs, lat[i].MedianMs, lat[i].P90Ms));
        sb.AppendLine().AppendLine(string.Format(Inv, "Folding the branches makes the TorchSharp model {0:F2}x faster; ONNX Runtime runs the fused model {1:F2}x faster still.",
            lat[0].MedianMs / lat[1].MedianMs, lat[1].MedianMs / lat[2].MedianMs));
    }
}
