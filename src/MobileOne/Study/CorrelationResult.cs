namespace MobileOne.Study;

/// <summary>Rank correlation of latency with one cost metric, with bootstrap confidence intervals.</summary>
/// <param name="Metric">"MACs" or "params".</param>
/// <param name="Spearman">Spearman's rho.</param>
/// <param name="SpearmanLow">Lower end of rho's 95 % bootstrap interval.</param>
/// <param name="SpearmanHigh">Upper end of rho's 95 % bootstrap interval.</param>
/// <param name="Kendall">Kendall's tau-b.</param>
/// <param name="KendallLow">Lower end of tau's 95 % bootstrap interval.</param>
/// <param name="KendallHigh">Upper end of tau's 95 % bootstrap interval.</param>
/// <param name="PaperMobile">The paper's Spearman coefficient on an iPhone 12, for reference.</param>
public sealed record CorrelationResult(string Metric, double Spearman, double SpearmanLow, double SpearmanHigh,
    double Kendall, double KendallLow, double KendallHigh, double PaperMobile);
