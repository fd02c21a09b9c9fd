using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>
/// DeepLabV3's training loss, as torchvision's segmentation reference has it: per-pixel cross-entropy with the
/// ignore label left out, plus half the auxiliary head's when the network has one.
/// </summary>
public static class SegmentationLoss
{
    /// <summary>The weight of the auxiliary head's loss.</summary>
    public const double AuxWeight = 0.5;

    /// <summary>The summed cross-entropy of <paramref name="logits"/> [N, K, H, W] against <paramref name="labels"/> [N, H, W] (int64), ignored pixels left out.</summary>
    public static Tensor Sum(Tensor logits, Tensor labels) =>
        nn.functional.cross_entropy(logits, labels, ignore_index: SegmentationData.Ignore, reduction: nn.Reduction.Sum);

    /// <summary>Pixels of <paramref name="labels"/> that count (not ignored).</summary>
    public static long Counted(Tensor labels)
    {
        using var counted = labels.ne(SegmentationData.Ignore).sum();
        return counted.item<long>();
    }

    /// <summary>
    /// The mean cross-entropy over the counted pixels of the main logits, plus <see cref="AuxWeight"/> times the
    /// auxiliary head's (when given); 0 when no pixel counts, where PyTorch's mean would be NaN.
    /// </summary>
    public static Tensor Mean(Tensor logits, Tensor? aux, Tensor labels)
    {
        double pixels = Math.Max(1, Counted(labels));
        var loss = Sum(logits, labels) / pixels;
        return aux is null ? loss : loss + AuxWeight * (Sum(aux, labels) / pixels);
    }
}
