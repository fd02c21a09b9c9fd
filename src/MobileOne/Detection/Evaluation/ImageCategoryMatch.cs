using MobileOne.Detection.Coco;

namespace MobileOne.Detection.Evaluation;

/// <summary>
/// The ground truth and detections of one category on one image, and their greedy matching (pycocotools'
/// <c>computeIoU</c> and <c>evaluateImg</c>). Detections are ranked by descending score (ties keep the
/// results file's order) and cut to the largest detection budget before any IoU is computed.
/// </summary>
internal sealed class ImageCategoryMatch
{
    private readonly List<CocoAnnotation> _truth = [];
    private readonly List<CocoDetection> _found = [];
    private CocoDetection[]? _ranked;
    private double[,]? _iou;

    public void Add(CocoAnnotation truth) => _truth.Add(truth);

    public void Add(CocoDetection detection) => _found.Add(detection);

    /// <summary>IoU of a detection with a box; for a crowd box the union is the detection alone, so a part of a crowd scores 1.</summary>
    public static double Iou(CocoBox d, CocoBox g, bool crowd)
    {
        double w = Math.Min(d.Width + d.X, g.Width + g.X) - Math.Max(d.X, g.X);
        if (w <= 0) return 0;
        double h = Math.Min(d.Height + d.Y, g.Height + g.Y) - Math.Max(d.Y, g.Y);
        if (h <= 0) return 0;
        double inter = w * h;
        double da = d.Width * d.Height;
        return inter / (crowd ? da : da + g.Width * g.Height - inter);
    }

    private void Prepare()
    {
        if (_ranked is not null) return;
        _ranked = _found.OrderByDescending(d => d.Score).Take(CocoEvalParameters.MaxDetections[^1]).ToArray();
        _iou = new double[_ranked.Length, _truth.Count];
        for (int d = 0; d < _ranked.Length; d++)
            for (int g = 0; g < _truth.Count; g++)
                _iou[d, g] = Iou(_ranked[d].Box, _truth[g].Box, _truth[g].IsCrowd);
    }

    /// <summary>Matches the detections to the ground truth at every IoU threshold, for objects in the size band [min, max].</summary>
    public ImageCategoryResult Evaluate(double min, double max)
    {
        Prepare();
        bool OutOfBand(double area) => area < min || area > max;
        // Ignored ground truth (crowds, and objects outside the band) goes last, stably.
        var order = Enumerable.Range(0, _truth.Count).OrderBy(g => _truth[g].IsCrowd || OutOfBand(_truth[g].Area)).ToArray();
        var truth = order.Select(g => _truth[g]).ToArray();
        var ignoredTruth = truth.Select(g => g.IsCrowd || OutOfBand(g.Area)).ToArray();
        var ranked = _ranked!;
        var result = new ImageCategoryResult(ranked.Select(d => d.Score).ToArray(), ignoredTruth.Count(i => !i));
        for (int t = 0; t < CocoEvalParameters.IouThresholds.Length; t++)
            MatchAtThreshold(t, truth, order, ignoredTruth, result);
        for (int t = 0; t < CocoEvalParameters.IouThresholds.Length; t++)
            for (int d = 0; d < ranked.Length; d++)
                if (!result.Matched(t, d) && OutOfBand(ranked[d].Box.Area)) result.Ignored[t, d] = true;
        return result;
    }

    /// <summary>
    /// Greedy matching in rank order: each detection takes the unmatched (or crowd) ground truth of highest
    /// IoU at least the threshold, preferring regular ground truth: once it holds one, ignored ones are not
    /// looked at. A detection matched to ignored ground truth is itself ignored.
    /// </summary>
    private void MatchAtThreshold(int t, CocoAnnotation[] truth, int[] order, bool[] ignoredTruth, ImageCategoryResult result)
    {
        if (truth.Length == 0) return;
        var taken = new bool[truth.Length];
        for (int d = 0; d < _ranked!.Length; d++)
        {
            double best = Math.Min(CocoEvalParameters.IouThresholds[t], 1 - 1e-10);
            int m = -1;
            for (int g = 0; g < truth.Length; g++)
            {
                if (taken[g] && !truth[g].IsCrowd) continue;
                if (m > -1 && !ignoredTruth[m] && ignoredTruth[g]) break;
                double iou = _iou![d, order[g]];
                if (iou < best) continue;
                best = iou;
                m = g;
            }
            if (m == -1) continue;
            result.Ignored[t, d] = ignoredTruth[m];
            result.MatchedTruth[t, d] = truth[m].Id;
            taken[m] = true;
        }
    }
}

/// <summary>What matching one category on one image gave, for one size band (pycocotools' per-image record).</summary>
internal sealed class ImageCategoryResult(double[] scores, int regularTruth)
{
    /// <summary>The ranked detections' scores.</summary>
    public double[] Scores { get; } = scores;

    /// <summary>The number of ground-truth objects that are not ignored.</summary>
    public int RegularTruth { get; } = regularTruth;

    /// <summary>Per IoU threshold and detection: the id of the ground truth it matched, 0 for none.</summary>
    public long[,] MatchedTruth { get; } = new long[CocoEvalParameters.IouThresholds.Length, scores.Length];

    /// <summary>Per IoU threshold and detection: neither a true nor a false positive.</summary>
    public bool[,] Ignored { get; } = new bool[CocoEvalParameters.IouThresholds.Length, scores.Length];

    /// <summary>
    /// Whether the detection counts as matched. pycocotools records a match by the ground truth's id and tests
    /// it for non-zero, so a match to an annotation whose id is 0 counts as none; kept, for equal scores.
    /// </summary>
    public bool Matched(int t, int d) => MatchedTruth[t, d] != 0;
}
