using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>The two terms of SSD's loss, each divided by the number of matched anchors in the batch.</summary>
/// <param name="Regression">Smooth-L1 over the matched anchors' box codes.</param>
/// <param name="Classification">Cross-entropy over the matched anchors and the hardest negatives.</param>
public sealed record SsdLossTerms(Tensor Regression, Tensor Classification) : IDisposable
{
    /// <summary>The sum the optimiser minimises.</summary>
    public Tensor Total() => Regression + Classification;

    /// <inheritdoc/>
    public void Dispose()
    {
        Regression.Dispose();
        Classification.Dispose();
    }
}

/// <summary>One image's ground truth: [G, 4] boxes (x1, y1, x2, y2 pixels at the network's input) and [G] labels 1..K.</summary>
public sealed record BoxTargets(Tensor Boxes, Tensor Labels);

/// <summary>
/// SSD's MultiBox loss as torchvision computes it: anchors matched by <see cref="SsdMatcher"/>; smooth-L1 (beta 1)
/// on the matched anchors' codes (<see cref="BoxCoder"/>); cross-entropy on every anchor, of which the matched
/// ones count and, per image, the negatives with the largest loss, three for each positive (hard-negative
/// mining); both sums divided by the batch's number of positives (at least 1).
/// </summary>
public sealed class SsdLoss(BoxCoder coder, double iouThreshold = 0.5, double negativesPerPositive = 3)
{
    /// <summary>The loss of [N, A, 4] box codes and [N, A, K] class logits against each image's targets, for [A, 4] anchors.</summary>
    public SsdLossTerms Compute(Tensor boxCodes, Tensor logits, Tensor anchors, IReadOnlyList<BoxTargets> targets)
    {
        using var scope = NewDisposeScope();
        long images = boxCodes.shape[0], count = anchors.shape[0];
        var regression = new List<Tensor>();
        var classTargets = new List<Tensor>();
        long positives = 0;
        for (int i = 0; i < images; i++)
        {
            var t = targets[i];
            var matches = t.Boxes.shape[0] == 0 ? full(count, SsdMatcher.Background, int64) : SsdMatcher.Match(BoxOps.Iou(t.Boxes, anchors), iouThreshold);
            var fg = matches.ge(0).nonzero().squeeze(1);
            var matched = matches.index_select(0, fg);
            positives += fg.shape[0];
            var codes = coder.Encode(t.Boxes.index_select(0, matched), anchors.index_select(0, fg));
            regression.Add(nn.functional.smooth_l1_loss(boxCodes[i].index_select(0, fg), codes, reduction: nn.Reduction.Sum));
            classTargets.Add(zeros(count, int64).index_put_(t.Labels.index_select(0, matched), fg));
        }
        var labels = stack(classTargets);
        long classes = logits.shape[2];
        var ce = nn.functional.cross_entropy(logits.reshape(-1, classes), labels.reshape(-1), reduction: nn.Reduction.None).reshape(labels.shape);
        var foreground = labels.gt(0);
        var hardNegatives = HardNegatives(ce, foreground);
        double n = Math.Max(1, positives);
        var boxLoss = stack(regression).sum() / n;
        var classLoss = (ce.masked_select(foreground).sum() + ce.masked_select(hardNegatives).sum()) / n;
        return new SsdLossTerms(boxLoss.MoveToOuterDisposeScope(), classLoss.MoveToOuterDisposeScope());
    }

    // Per image, the negatives ranked by loss below 3x the image's positives. Positives rank last (-inf), and
    // are picked too only when an image has fewer negatives than that, as in torchvision.
    private Tensor HardNegatives(Tensor ce, Tensor foreground)
    {
        var quota = foreground.sum(1, keepdim: true) * negativesPerPositive;
        var negativeLoss = ce.detach().masked_fill(foreground, double.NegativeInfinity);
        var order = negativeLoss.sort(1, descending: true).Indices;
        var rank = order.sort(1).Indices;
        return rank.lt(quota);
    }
}
