using System.Globalization;
using MobileOne.Benchmarks;
using MobileOne.Training;

namespace MobileOne.Quickstart;

/// <summary>What a finished quickstart measured, and where its report is.</summary>
/// <param name="Unfused">Test-set evaluation of the train-time model.</param>
/// <param name="Fused">Test-set evaluation of the fused model.</param>
/// <param name="Latency">Batch-1 latency: train-time (TorchSharp), fused (TorchSharp), fused (ONNX Runtime).</param>
/// <param name="ReportPath">The report written.</param>
/// <param name="Elapsed">Time of the whole quickstart.</param>
public sealed record QuickstartResult(EvaluationResult Unfused, EvaluationResult Fused, IReadOnlyList<LatencyStats> Latency, string ReportPath, TimeSpan Elapsed)
{
    /// <summary>The closing summary: accuracy of both forms, latency, where the report is.</summary>
    public IEnumerable<string> Summary()
    {
        var inv = CultureInfo.InvariantCulture;
        yield return string.Format(inv, "Fashion-MNIST test accuracy: {0:P2} (fused: {1:P2}; the two forms agree on {2:P2} of images)",
            Unfused.Top1, Fused.Top1, Unfused.Agreement(Fused));
        yield return string.Format(inv, "latency, batch 1, 1 thread: train-time {0:F2} ms, fused {1:F2} ms (TorchSharp), fused {2:F2} ms (ONNX Runtime)",
            Latency[0].MedianMs, Latency[1].MedianMs, Latency[2].MedianMs);
        yield return $"report: {ReportPath} ({Elapsed.TotalMinutes:F1} min in all)";
    }
}
