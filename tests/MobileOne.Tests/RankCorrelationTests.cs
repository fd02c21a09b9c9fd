using MobileOne.Study;

namespace MobileOne.Tests;

/// <summary>Spearman, Kendall tau-b and the bootstrap interval against values worked out by hand.</summary>
public class RankCorrelationTests
{
    [Fact]
    public void TiedValuesShareTheAverageOfTheirRanks()
    {
        Assert.Equal([1, 2.5, 2.5, 4], RankCorrelation.Ranks([10, 20, 20, 30]));
        Assert.Equal([3, 1, 2], RankCorrelation.Ranks([0.3, -1, 0.2]));
        Assert.Equal([3, 1, 3, 3], RankCorrelation.Ranks([2, 1, 2, 2]));  // the three 2s span ranks 2, 3, 4
        Assert.Equal([2, 2, 2], RankCorrelation.Ranks([5, 5, 5]));
        Assert.Empty(RankCorrelation.Ranks([]));
    }

    [Fact]
    public void MonotoneSeriesGivePlusOrMinusOne()
    {
        double[] x = [1, 2, 3, 4, 5];
        double[] up = [2, 4, 6, 8, 100];    // monotone but not linear: ranks still agree exactly
        double[] down = [9, 7, 5, 3, -50];
        Assert.Equal(1.0, RankCorrelation.Spearman(x, up), 12);
        Assert.Equal(1.0, RankCorrelation.KendallTauB(x, up), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman(x, down), 12);
        Assert.Equal(-1.0, RankCorrelation.KendallTauB(x, down), 12);
    }

    [Fact]
    public void SpearmanAndKendallDifferOnASwappedPair()
    {
        double[] x = [1, 2, 3, 4], y = [2, 1, 4, 3];
        // No ties: rho = 1 - 6 * sum d^2 / (n (n^2 - 1)), d = (-1, 1, -1, 1), so 1 - 6 * 4 / 60 = 0.6.
        Assert.Equal(0.6, RankCorrelation.Spearman(x, y), 12);
        // Pairs (1,2) and (3,4) are discordant, the other 4 concordant: (4 - 2) / 6 = 1/3.
        Assert.Equal(1.0 / 3, RankCorrelation.KendallTauB(x, y), 12);
    }

    [Fact]
    public void TiesInXAreCorrected()
    {
        double[] x = [1, 2, 2, 3], y = [1, 2, 3, 4];
        // Ranks x (1, 2.5, 2.5, 4), y (1, 2, 3, 4), both mean 2.5; deviations (-1.5, 0, 0, 1.5) and (-1.5, -0.5, 0.5, 1.5).
        // Sxy = 2.25 + 2.25 = 4.5, Sxx = 4.5, Syy = 2.25 + 0.25 + 0.25 + 2.25 = 5: rho = 4.5 / sqrt(22.5) = sqrt(0.9).
        Assert.Equal(Math.Sqrt(0.9), RankCorrelation.Spearman(x, y), 12);       // 0.948683...
        // 6 pairs: 5 concordant, the pair of 2s tied in x (n1 = 1, n2 = 0): 5 / sqrt((6 - 1) * 6) = sqrt(5/6).
        Assert.Equal(Math.Sqrt(5.0 / 6), RankCorrelation.KendallTauB(x, y), 12);  // 0.912870...
    }

    [Fact]
    public void TiesInBothSeriesAreCorrected()
    {
        // Points A(1,1) B(1,2) C(2,1) D(2,3) E(3,3).
        double[] x = [1, 1, 2, 2, 3], y = [1, 2, 1, 3, 3];
        // Ranks x (1.5, 1.5, 3.5, 3.5, 5), y (1.5, 3, 1.5, 4.5, 4.5), both mean 3;
        // deviations (-1.5, -1.5, 0.5, 0.5, 2) and (-1.5, 0, -1.5, 1.5, 1.5).
        // Sxy = 2.25 + 0 - 0.75 + 0.75 + 3 = 5.25, Sxx = 2.25 + 2.25 + 0.25 + 0.25 + 4 = 9, Syy = 4 * 2.25 = 9: rho = 5.25 / 9.
        Assert.Equal(5.25 / 9, RankCorrelation.Spearman(x, y), 12);  // 0.583333...
        // 10 pairs: concordant AD AE BD BE CE (5), discordant BC (1), tied in x AB CD (n1 = 2), tied in y AC DE (n2 = 2).
        // (5 - 1) / sqrt((10 - 2) * (10 - 2)) = 4 / 8.
        Assert.Equal(0.5, RankCorrelation.KendallTauB(x, y), 12);
    }

    [Fact]
    public void CorrelationsAreSymmetricInTheirArguments()
    {
        double[] x = [3, 1, 4, 1, 5, 9, 2, 6], y = [2, 7, 1, 8, 2, 8, 1, 8];
        Assert.Equal(RankCorrelation.Spearman(x, y), RankCorrelation.Spearman(y, x), 12);
        Assert.Equal(RankCorrelation.KendallTauB(x, y), RankCorrelation.KendallTauB(y, x), 12);
    }

    private static readonly double[] CorrelatedX = Enumerable.Range(1, 20).Select(i => (double)i).ToArray();
    // Increasing with every third value pushed up past its neighbour: clearly but not perfectly correlated.
    private static readonly double[] CorrelatedY = CorrelatedX.Select(v => v + (v % 3 == 0 ? 2.5 : 0)).ToArray();

    [Fact]
    public void BootstrapIsDeterministicPerSeedAndCoversThePointEstimate()
    {
        foreach (var stat in new Func<IReadOnlyList<double>, IReadOnlyList<double>, double>[] { RankCorrelation.Spearman, RankCorrelation.KendallTauB })
        {
            var a = RankCorrelation.BootstrapInterval(CorrelatedX, CorrelatedY, stat, seed: 7);
            var b = RankCorrelation.BootstrapInterval(CorrelatedX, CorrelatedY, stat, seed: 7);
            Assert.Equal(a, b);
            double point = stat(CorrelatedX, CorrelatedY);
            Assert.InRange(point, a.Low, a.High);
            Assert.True(a.Low > 0.5 && a.High <= 1, $"interval {a}");
            var other = RankCorrelation.BootstrapInterval(CorrelatedX, CorrelatedY, stat, seed: 8);
            Assert.NotEqual(a, other);
        }
        // A narrower confidence gives a nested interval (same resamples, inner percentiles).
        var wide = RankCorrelation.BootstrapInterval(CorrelatedX, CorrelatedY, RankCorrelation.Spearman, confidence: 0.95);
        var narrow = RankCorrelation.BootstrapInterval(CorrelatedX, CorrelatedY, RankCorrelation.Spearman, confidence: 0.5);
        Assert.True(wide.Low <= narrow.Low && narrow.High <= wide.High, $"{narrow} inside {wide}");
    }

    [Fact]
    public void BootstrapSkipsConstantResamplesInsteadOfThrowing()
    {
        // Four equal x values: about (4/5)^5 = 33 % of resamples have constant x, which must be skipped, not thrown.
        double[] x = [1, 1, 1, 1, 2], y = [1, 2, 3, 4, 5];
        foreach (var stat in new Func<IReadOnlyList<double>, IReadOnlyList<double>, double>[] { RankCorrelation.Spearman, RankCorrelation.KendallTauB })
        {
            var (low, high) = RankCorrelation.BootstrapInterval(x, y, stat, resamples: 500);
            Assert.True(-1 <= low && low <= high && high <= 1, $"({low}, {high})");
        }
    }

    [Fact]
    public void InvalidInputsAreRejectedWithSpecificMessages()
    {
        Assert.Equal("x has 5 values but y has 4",
            Assert.Throws<MobileOneException>(() => RankCorrelation.Spearman([1, 2, 3, 4, 5], [1, 2, 3, 4])).Message);
        Assert.Equal("a rank correlation needs at least 3 pairs, got 2",
            Assert.Throws<MobileOneException>(() => RankCorrelation.KendallTauB([1, 2], [2, 1])).Message);
        Assert.Equal("x[1] is NaN; every value must be a finite number",
            Assert.Throws<MobileOneException>(() => RankCorrelation.Spearman([1, double.NaN, 3], [1, 2, 3])).Message);
        Assert.Equal("y[2] is -Infinity; every value must be a finite number",
            Assert.Throws<MobileOneException>(() => RankCorrelation.KendallTauB([1, 2, 3], [1, 2, double.NegativeInfinity])).Message);
        Assert.Equal("x is constant (all 3 values are 4), so its correlation is undefined",
            Assert.Throws<MobileOneException>(() => RankCorrelation.Spearman([4, 4, 4], [1, 2, 3])).Message);
        Assert.Equal("y is constant (all 4 values are 0.5), so its correlation is undefined",
            Assert.Throws<MobileOneException>(() => RankCorrelation.KendallTauB([1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5])).Message);
        Assert.Equal("values[0] is NaN and cannot be ranked",
            Assert.Throws<MobileOneException>(() => RankCorrelation.Ranks([double.NaN, 1])).Message);
    }

    [Fact]
    public void BootstrapRejectsBadSettingsAndMostlyUndefinedStatistics()
    {
        double[] x = [1, 2, 3, 4], y = [1, 3, 2, 4];
        Assert.Equal("x has 4 values but y has 3",
            Assert.Throws<MobileOneException>(() => RankCorrelation.BootstrapInterval(x, [1, 2, 3], RankCorrelation.Spearman)).Message);
        Assert.Equal("resamples must be at least 1, got 0",
            Assert.Throws<MobileOneException>(() => RankCorrelation.BootstrapInterval(x, y, RankCorrelation.Spearman, resamples: 0)).Message);
        Assert.Equal("confidence must be between 0 and 1 (exclusive), got 1",
            Assert.Throws<MobileOneException>(() => RankCorrelation.BootstrapInterval(x, y, RankCorrelation.Spearman, confidence: 1)).Message);
        // A statistic that is undefined for every resample.
        Assert.Equal("the statistic is undefined in 100 of 100 bootstrap resamples (for example all x values equal); too few distinct values for a bootstrap interval",
            Assert.Throws<MobileOneException>(() => RankCorrelation.BootstrapInterval(x, y, (_, _) => double.NaN, resamples: 100)).Message);
    }
}
