namespace MobileOne.Detection.Evaluation;

/// <summary>
/// pycocotools' <c>accumulate</c> and <c>summarize</c>: precision at the 101 recall points and the final
/// recall, per IoU threshold, category, size band and detection budget; -1 where a category has no
/// regular ground truth in the band.
/// </summary>
internal sealed class PrecisionRecallTable
{
    private static int T => CocoEvalParameters.IouThresholds.Length;
    private static int R => CocoEvalParameters.RecallThresholds.Length;
    private static int A => CocoEvalParameters.AreaRanges.Length;
    private static int M => CocoEvalParameters.MaxDetections.Length;

    /// <summary>numpy's <c>np.spacing(1)</c>, which keeps the precision's denominator from being 0.</summary>
    private const double Epsilon = 2.220446049250313e-16;

    private readonly int _categories;
    private readonly double[] _precision; // [T, R, K, A, M]
    private readonly double[] _recall;    // [T, K, A, M]

    public PrecisionRecallTable(int categories)
    {
        _categories = categories;
        _precision = new double[checked(T * R * categories * A * M)];
        _recall = new double[checked(T * categories * A * M)];
        Array.Fill(_precision, -1);
        Array.Fill(_recall, -1);
    }

    private int PrecisionIndex(int t, int r, int k, int a, int m) => (((t * R + r) * _categories + k) * A + a) * M + m;

    private int RecallIndex(int t, int k, int a, int m) => ((t * _categories + k) * A + a) * M + m;

    /// <summary>
    /// Fills the entries of category <paramref name="k"/>, band <paramref name="a"/> and budget <paramref name="m"/>
    /// from the per-image results (in ascending image id order): the images' first detections are pooled and
    /// ranked by descending score, stably, then counted cumulatively.
    /// </summary>
    public void Accumulate(IReadOnlyList<ImageCategoryResult> images, int k, int a, int m)
    {
        if (images.Count == 0) return;
        int regular = images.Sum(e => e.RegularTruth);
        if (regular == 0) return;
        int budget = CocoEvalParameters.MaxDetections[m];
        var pooled = images.SelectMany(e => Enumerable.Range(0, Math.Min(budget, e.Scores.Length)).Select(d => (Image: e, Detection: d)))
                           .OrderByDescending(p => p.Image.Scores[p.Detection]).ToArray();
        var precision = new double[pooled.Length];
        var recall = new double[pooled.Length];
        for (int t = 0; t < T; t++)
        {
            double tp = 0, fp = 0;
            for (int i = 0; i < pooled.Length; i++)
            {
                var (e, d) = pooled[i];
                if (!e.Ignored[t, d])
                {
                    if (e.Matched(t, d)) tp++;
                    else fp++;
                }
                recall[i] = tp / regular;
                precision[i] = tp / (fp + tp + Epsilon);
            }
            _recall[RecallIndex(t, k, a, m)] = pooled.Length > 0 ? recall[^1] : 0;
            StorePrecision(precision, recall, t, k, a, m);
        }
    }

    /// <summary>The precision envelope (best precision at any higher recall), read at each recall point: the first rank reaching it, else 0.</summary>
    private void StorePrecision(double[] precision, double[] recall, int t, int k, int a, int m)
    {
        for (int i = precision.Length - 1; i > 0; i--)
            if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i];
        int rank = 0;
        for (int r = 0; r < R; r++)
        {
            double point = CocoEvalParameters.RecallThresholds[r];
            while (rank < recall.Length && recall[rank] < point) rank++;
            _precision[PrecisionIndex(t, r, k, a, m)] = rank < recall.Length ? precision[rank] : 0;
        }
    }

    /// <summary>One statistic: the mean of the defined entries it covers, in numpy's order and summation; -1 if none is defined.</summary>
    public double Summarize(CocoStats.Definition s)
    {
        int a = s.Area, m = Array.IndexOf(CocoEvalParameters.MaxDetections, s.MaxDetections);
        var values = new List<double>();
        for (int t = 0; t < T; t++)
        {
            if (s.Iou is { } iou && CocoEvalParameters.IouThresholds[t] != iou) continue;
            for (int r = 0; r < (s.Precision ? R : 1); r++)
                for (int k = 0; k < _categories; k++)
                    values.Add(s.Precision ? _precision[PrecisionIndex(t, r, k, a, m)] : _recall[RecallIndex(t, k, a, m)]);
        }
        var defined = values.Where(v => v > -1).ToArray();
        return defined.Length == 0 ? -1 : NumpySum(defined) / defined.Length;
    }

    /// <summary>
    /// numpy's float64 sum (as in <c>np.mean</c>), so that the mean equals pycocotools' to the last bit rather
    /// than nearly: the values go in buffers of 8,192, each summed pairwise, and the buffers' sums are added in turn.
    /// </summary>
    internal static double NumpySum(ReadOnlySpan<double> values)
    {
        const int Buffer = 8192;
        double sum = 0;
        for (int start = 0; start < values.Length; start += Buffer)
            sum += PairwiseSum(values.Slice(start, Math.Min(Buffer, values.Length - start)));
        return sum;
    }

    /// <summary>numpy's pairwise summation: eight running sums over blocks of at most 128 values, halved recursively above that.</summary>
    private static double PairwiseSum(ReadOnlySpan<double> a)
    {
        if (a.Length < 8)
        {
            double sum = 0;
            foreach (var v in a) sum += v;
            return sum;
        }
        if (a.Length <= 128)
        {
            Span<double> r = stackalloc double[8];
            a[..8].CopyTo(r);
            int i = 8;
            for (; i < a.Length - a.Length % 8; i += 8)
                for (int j = 0; j < 8; j++) r[j] += a[i + j];
            double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < a.Length; i++) sum += a[i];
            return sum;
        }
        int half = a.Length / 2;
        half -= half % 8;
        return PairwiseSum(a[..half]) + PairwiseSum(a[half..]);
    }
}
