using MobileOne.Inference;
using MobileOne.Zoo;

namespace MobileOne.Study;

/// <summary>
/// The paper's metric study (Section 3): the latency of every zoo network against its MACs and its
/// parameter count, summarised by rank correlations. The paper finds only a moderate correlation on an
/// iPhone 12 (Spearman about 0.47 with FLOPs, 0.30 with parameters) and a weaker one on a desktop CPU.
/// </summary>
public static class LatencyStudy
{
    /// <summary>The paper's mobile Spearman coefficient with FLOPs (Figure 1 / Section 3).</summary>
    public const double PaperMacsCorrelation = 0.47;

    /// <summary>The paper's mobile Spearman coefficient with parameters.</summary>
    public const double PaperParamsCorrelation = 0.30;

    /// <summary>Counts and times every entry (deployed forms), alternating between networks.</summary>
    public static IReadOnlyList<StudyRow> Measure(IReadOnlyList<ZooEntry> entries, InferenceBackend backend, int threads, int warmup, int runs,
        Action<string>? log = null)
    {
        var results = StudyBench.Measure(entries.Select(e => (e.Name, (Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>)(() => e.Factory(true)))).ToList(),
            backend, threads, warmup, runs, log: log);
        return entries.Select((e, i) => new StudyRow(e.Name, e.Family, e.IsMobileOne, results[i].Counts.Params, results[i].Counts.Macs, results[i].Latency)).ToList();
    }

    /// <summary>Spearman and Kendall correlations of median latency with MACs and with parameters.</summary>
    public static IReadOnlyList<CorrelationResult> Correlate(IReadOnlyList<StudyRow> rows, int resamples = 2000, int seed = 0)
    {
        var latency = rows.Select(r => r.Latency.MedianMs).ToList();
        CorrelationResult With(string metric, IReadOnlyList<double> cost, double paper)
        {
            var (sl, sh) = RankCorrelation.BootstrapInterval(cost, latency, RankCorrelation.Spearman, resamples, seed: seed);
            var (kl, kh) = RankCorrelation.BootstrapInterval(cost, latency, RankCorrelation.KendallTauB, resamples, seed: seed);
            return new CorrelationResult(metric, RankCorrelation.Spearman(cost, latency), sl, sh, RankCorrelation.KendallTauB(cost, latency), kl, kh, paper);
        }
        return
        [
            With("MACs", rows.Select(r => (double)r.Macs).ToList(), PaperMacsCorrelation),
            With("params", rows.Select(r => (double)r.Params).ToList(), PaperParamsCorrelation),
        ];
    }
}
