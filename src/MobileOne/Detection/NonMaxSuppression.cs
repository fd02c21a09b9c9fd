namespace MobileOne.Detection;

/// <summary>
/// Greedy non-maximum suppression, as torchvision's <c>nms</c>: take the best-scored box, drop every remaining
/// box whose IoU with it exceeds the threshold, repeat. Boxes are x1, y1, x2, y2, four floats each; the IoU is
/// computed in float32 as torchvision's CPU kernel does.
/// </summary>
public static class NonMaxSuppression
{
    /// <summary>The indices into <paramref name="candidates"/>' boxes that survive, best score first.</summary>
    /// <param name="boxes">All boxes, four floats each.</param>
    /// <param name="scores">All scores.</param>
    /// <param name="candidates">The boxes taking part (indices into <paramref name="boxes"/>).</param>
    /// <param name="iouThreshold">Boxes overlapping a kept one by more than this are dropped.</param>
    public static List<int> Keep(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, IReadOnlyList<int> candidates, double iouThreshold)
    {
        var order = ByScore(scores, candidates);
        var suppressed = new bool[order.Length];
        var keep = new List<int>();
        for (int i = 0; i < order.Length; i++)
        {
            if (suppressed[i]) continue;
            int a = order[i];
            keep.Add(a);
            for (int j = i + 1; j < order.Length; j++)
                if (!suppressed[j] && Iou(boxes, a, order[j]) > iouThreshold) suppressed[j] = true;
        }
        return keep;
    }

    /// <summary>
    /// Suppression within each label only (torchvision's <c>batched_nms</c>): the survivors of every label,
    /// merged best score first.
    /// </summary>
    public static List<int> KeepPerLabel(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, IReadOnlyList<int> labels, double iouThreshold)
    {
        var kept = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).ToList())
            kept.AddRange(Keep(boxes, scores, group.ToList(), iouThreshold));
        return ByScore(scores, kept).ToList();
    }

    // Descending score; equal scores keep index order, so that the result does not depend on the sort.
    private static int[] ByScore(ReadOnlySpan<float> scores, IReadOnlyList<int> indices)
    {
        var order = indices.ToArray();
        var keys = new float[order.Length];
        for (int i = 0; i < order.Length; i++) keys[i] = scores[order[i]];
        return order.Zip(keys).OrderByDescending(p => p.Second).ThenBy(p => p.First).Select(p => p.First).ToArray();
    }

    /// <summary>The IoU of boxes <paramref name="a"/> and <paramref name="b"/>, in float32.</summary>
    public static float Iou(ReadOnlySpan<float> boxes, int a, int b)
    {
        float ax1 = boxes[4 * a], ay1 = boxes[4 * a + 1], ax2 = boxes[4 * a + 2], ay2 = boxes[4 * a + 3];
        float bx1 = boxes[4 * b], by1 = boxes[4 * b + 1], bx2 = boxes[4 * b + 2], by2 = boxes[4 * b + 3];
        float w = Math.Max(0f, Math.Min(ax2, bx2) - Math.Max(ax1, bx1));
        float h = Math.Max(0f, Math.Min(ay2, by2) - Math.Max(ay1, by1));
        float inter = w * h;
        float areaA = (ax2 - ax1) * (ay2 - ay1), areaB = (bx2 - bx1) * (by2 - by1);
        return inter / (areaA + areaB - inter);
    }
}
