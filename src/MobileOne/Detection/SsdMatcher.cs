using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// SSD's anchor matching (Liu et al. 2016, section 2.2): each anchor takes the ground-truth box it overlaps
/// most if that IoU reaches the threshold (0.5), otherwise it is background; then every ground-truth box
/// claims its best anchor whatever the IoU, so that no object goes unmatched. Where two boxes claim one
/// anchor, the later box wins, as in torchvision's <c>SSDMatcher</c>.
/// </summary>
public static class SsdMatcher
{
    /// <summary>Background: an anchor matched to no box.</summary>
    public const long Background = -1;

    /// <summary>
    /// For each of the A anchors, the index of its box, or <see cref="Background"/>, from the [G, A] IoU matrix
    /// <paramref name="iou"/> of G boxes (G may be 0).
    /// </summary>
    public static Tensor Match(Tensor iou, double threshold = 0.5)
    {
        long anchors = iou.shape[1], boxes = iou.shape[0];
        if (boxes == 0) return full(anchors, Background, int64);
        using var scope = NewDisposeScope();
        var (best, matches) = iou.max(0);
        matches = matches.masked_fill(best.lt(threshold), Background);
        var bestAnchor = iou.argmax(1);
        // Assigned one box at a time, so that the later box wins a shared anchor as index_put does on CPU.
        for (long g = 0; g < boxes; g++) matches.index_put_(tensor(g), bestAnchor[g]);
        return matches.MoveToOuterDisposeScope();
    }
}
