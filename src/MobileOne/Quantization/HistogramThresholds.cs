namespace MobileOne.Quantization;

/// <summary>
/// Clipping thresholds from a histogram of magnitudes, as a count of leading bins kept (the threshold is that
/// many bin widths): the percentile rule and the entropy rule of TensorRT's int8 calibration.
/// </summary>
public static class HistogramThresholds
{
    /// <summary>The fewest leading bins that hold at least <paramref name="fraction"/> of all counts (at least one).</summary>
    public static int PercentileBins(IReadOnlyList<long> histogram, double fraction)
    {
        long total = histogram.Sum();
        double needed = fraction * total;
        long cumulative = 0;
        for (int i = 0; i < histogram.Count; i++)
        {
            cumulative += histogram[i];
            if (cumulative >= needed) return i + 1;
        }
        return histogram.Count;
    }

    /// <summary>
    /// The number of leading bins i (from <paramref name="levels"/> to all) that minimises KL(P || Q): P the first
    /// i bins with every count beyond them added to the last; Q the same i bins merged into <paramref name="levels"/>
    /// groups (what the quantised tensor can tell apart), each group's count spread evenly over the bins of the
    /// group that P does not leave empty. The first minimum wins, so the answer is deterministic. The first bin counts
    /// as the second does: after a ReLU it holds every exact zero, a spike that zero point 0 encodes exactly, and that
    /// would otherwise make every merge of it with its neighbours look costly and drive the threshold to the smallest tried.
    /// </summary>
    public static int EntropyBins(IReadOnlyList<long> histogram, int levels)
    {
        int n = histogram.Count;
        if (levels < 1) throw new ArgumentOutOfRangeException(nameof(levels));
        if (n <= levels) return n;
        var counts = histogram.Select(c => (double)c).ToArray();
        counts[0] = counts[1];
        var beyond = new double[n + 1];
        for (int i = n - 1; i >= 0; i--) beyond[i] = beyond[i + 1] + counts[i];
        if (beyond[0] == 0) return n;
        int best = n;
        double bestDivergence = double.PositiveInfinity;
        var p = new double[n];
        var q = new double[n];
        for (int i = levels; i <= n; i++)
        {
            double kl = Divergence(counts, beyond[i], i, levels, p, q);
            if (kl < bestDivergence) (best, bestDivergence) = (i, kl);
        }
        return best;
    }

    // KL(P || Q) for the first `bins` bins, `outliers` the count past them; p and q are scratch space.
    private static double Divergence(double[] counts, double outliers, int bins, int levels, double[] p, double[] q)
    {
        Array.Copy(counts, p, bins);
        p[bins - 1] += outliers;
        for (int g = 0; g < levels; g++)
        {
            // Group g covers bins [start, end): integer bounds, so every bin belongs to exactly one group.
            int start = (int)((long)g * bins / levels), end = (int)((long)(g + 1) * bins / levels);
            double sum = 0;
            int used = 0;
            for (int j = start; j < end; j++)
            {
                sum += counts[j];
                if (p[j] > 0) used++;
            }
            for (int j = start; j < end; j++) q[j] = p[j] > 0 ? sum / used : 0;
        }
        Normalize(p, bins);
        Normalize(q, bins);
        double kl = 0;
        for (int j = 0; j < bins; j++) kl += p[j] * Math.Log(p[j] / q[j]);
        return kl;
    }

    private const double Epsilon = 1e-4;

    // Scales the first `bins` values to sum to 1 with Epsilon in every empty bin (the others shrunk to make room,
    // at most 2048 x 1e-4 of the mass): the outliers piled into P's last bin may find Q empty there, and a divergence
    // of log(1/0) would rule out every threshold but the largest.
    private static void Normalize(double[] d, int bins)
    {
        double total = 0;
        int zeros = 0;
        for (int j = 0; j < bins; j++) { total += d[j]; if (d[j] == 0) zeros++; }
        double keep = total > 0 ? (1 - Epsilon * zeros) / total : 0;
        for (int j = 0; j < bins; j++) d[j] = d[j] == 0 ? Epsilon : d[j] * keep;
    }
}
