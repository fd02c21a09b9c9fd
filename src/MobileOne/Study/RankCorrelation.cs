using System.Globalization;
using MobileOne.Benchmarks;

namespace MobileOne.Study;

/// <summary>
/// Rank correlations between two paired series (for example a proxy metric and measured latency across models),
/// with a percentile bootstrap for their uncertainty. Both statistics handle ties.
/// </summary>
public static class RankCorrelation
{
    /// <summary>1-based ranks of <paramref name="values"/>; tied values share the average of the ranks they span.</summary>
    /// <example>[10, 20, 20, 30] gives [1, 2.5, 2.5, 4].</example>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        for (int i = 0; i < values.Count; i++)
            if (double.IsNaN(values[i])) throw new MobileOneException($"values[{i}] is NaN and cannot be ranked");
        int[] order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0, end; start < order.Length; start = end + 1)
        {
            end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            // Positions start..end hold ranks start+1..end+1, whose average is this.
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
        }
        return ranks;
    }

    /// <summary>Spearman's rho: the Pearson correlation of the average ranks, so it stays correct with ties.</summary>
    /// <exception cref="MobileOneException">The series differ in length, have fewer than 3 pairs, hold a non-finite value, or one is constant.</exception>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Validate(x, y);
        return SpearmanCore(x, y);
    }

    /// <summary>Kendall's tau-b: (C - D) / sqrt((n0 - n1)(n0 - n2)), counting concordant, discordant and tied pairs.</summary>
    /// <exception cref="MobileOneException">The series differ in length, have fewer than 3 pairs, hold a non-finite value, or one is constant.</exception>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Validate(x, y);
        return KendallCore(x, y);
    }

    /// <summary>
    /// Percentile bootstrap interval of <paramref name="statistic"/>: resamples the pairs with replacement, deterministically
    /// from <paramref name="seed"/>, and takes the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles (linear
    /// interpolation, numpy's default). Resamples where the statistic is NaN are skipped; passing <see cref="Spearman"/> or
    /// <see cref="KendallTauB"/> makes a constant resample count as NaN instead of throwing. Other statistics should return
    /// NaN where they are undefined.
    /// </summary>
    /// <exception cref="MobileOneException">The inputs are invalid as for <see cref="Spearman"/>, the settings are out of range,
    /// or the statistic is undefined in more than half of the resamples.</exception>
    public static (double Low, double High) BootstrapInterval(IReadOnlyList<double> x, IReadOnlyList<double> y,
        Func<IReadOnlyList<double>, IReadOnlyList<double>, double> statistic, int resamples = 2000, double confidence = 0.95, int seed = 0)
    {
        Validate(x, y);
        if (resamples < 1) throw new MobileOneException($"resamples must be at least 1, got {resamples}");
        if (!(confidence > 0 && confidence < 1)) throw new MobileOneException($"confidence must be between 0 and 1 (exclusive), got {Format(confidence)}");
        // The public statistics reject a constant series, but a constant resample is only unusable: use their NaN-returning cores.
        var stat = statistic.Equals((Func<IReadOnlyList<double>, IReadOnlyList<double>, double>)Spearman) ? SpearmanCore
            : statistic.Equals((Func<IReadOnlyList<double>, IReadOnlyList<double>, double>)KendallTauB) ? KendallCore
            : statistic;

        var rng = new Random(seed);
        int n = x.Count;
        var values = new List<double>(resamples);
        for (int r = 0; r < resamples; r++)
        {
            var xs = new double[n];
            var ys = new double[n];
            for (int i = 0; i < n; i++)
            {
                int k = rng.Next(n);
                xs[i] = x[k];
                ys[i] = y[k];
            }
            double v = stat(xs, ys);
            if (!double.IsNaN(v)) values.Add(v);
        }
        if (2 * values.Count < resamples)
            throw new MobileOneException($"the statistic is undefined in {resamples - values.Count} of {resamples} bootstrap resamples (for example all x values equal); too few distinct values for a bootstrap interval");
        values.Sort();
        double alpha = (1 - confidence) / 2;
        return (LatencyStats.Percentile(values, alpha), LatencyStats.Percentile(values, 1 - alpha));
    }

    private static double SpearmanCore(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double[] rx = Ranks(x), ry = Ranks(y);
        double mx = rx.Average(), my = ry.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            double dx = rx[i] - mx, dy = ry[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    private static double KendallCore(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        long concordant = 0, discordant = 0, tiedX = 0, tiedY = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                // A pair tied in both counts in n1 and n2 alike, as tau-b's definition requires.
                if (sx == 0) tiedX++;
                if (sy == 0) tiedY++;
                if (sx * sy > 0) concordant++;
                else if (sx * sy < 0) discordant++;
            }
        long n0 = (long)n * (n - 1) / 2;
        double denominator = Math.Sqrt((double)(n0 - tiedX) * (n0 - tiedY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    private static void Validate(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new MobileOneException($"x has {x.Count} values but y has {y.Count}");
        if (x.Count < 3) throw new MobileOneException($"a rank correlation needs at least 3 pairs, got {x.Count}");
        RequireFiniteAndVarying(x, "x");
        RequireFiniteAndVarying(y, "y");
    }

    private static void RequireFiniteAndVarying(IReadOnlyList<double> values, string name)
    {
        for (int i = 0; i < values.Count; i++)
            if (!double.IsFinite(values[i])) throw new MobileOneException($"{name}[{i}] is {Format(values[i])}; every value must be a finite number");
        if (values.All(v => v == values[0]))
            throw new MobileOneException($"{name} is constant (all {values.Count} values are {Format(values[0])}), so its correlation is undefined");
    }

    private static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
