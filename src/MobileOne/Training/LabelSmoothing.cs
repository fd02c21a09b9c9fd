using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>Cross-entropy against targets smoothed to (1 - e) one-hot + e / K, averaged over the batch.</summary>
public static class LabelSmoothing
{
    /// <summary>The loss of <paramref name="logits"/> [N, K] for class indices <paramref name="labels"/> [N].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, double smoothing)
    {
        if (smoothing is < 0 or >= 1) throw new MobileOneException($"label smoothing must be in [0, 1), found {smoothing}");
        using var scope = NewDisposeScope();
        var logp = nn.functional.log_softmax(logits.to(float32), 1);
        var nll = -logp.gather(1, labels.unsqueeze(1)).squeeze(1);
        var uniform = -logp.mean([1]);
        // Explicit scalars, not implicit ones left to the finalizer (see Scalars).
        using var keep = (1 - smoothing).ToScalar();
        using var spread = smoothing.ToScalar();
        return nll.mul(keep).add(uniform.mul(spread), Scalars.One).mean().MoveToOuterDisposeScope();
    }
}
