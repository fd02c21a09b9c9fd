using System.Globalization;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Reparameterization;

/// <summary>
/// How far a fused model's logits are from its train-time model's on one seeded random batch: the two
/// forms must compute the same function, up to float32 rounding.
/// </summary>
/// <param name="Blocks">Blocks folded.</param>
/// <param name="Size">Height and width of the random batch.</param>
/// <param name="Channels">Channels of the random batch (the model's input channels).</param>
/// <param name="MaxDifference">Largest absolute difference between the two forms' logits.</param>
/// <param name="Scale">The larger of 1 and the largest absolute train-time logit.</param>
public sealed record FoldCheck(int Blocks, int Size, int Channels, double MaxDifference, double Scale)
{
    /// <summary>Relative tolerance of the check.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>True when the two forms agree within <see cref="Tolerance"/> of <see cref="Scale"/> (false for NaN).</summary>
    public bool Agrees => MaxDifference <= Tolerance * Scale;

    /// <summary>Runs both forms in eval mode on a seeded random batch of <paramref name="size"/> x <paramref name="size"/>.</summary>
    public static FoldCheck Run(MobileOneModel trainTime, MobileOneModel fused, int size = 224)
    {
        int channels = trainTime.Config.InChannels;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(1, channels, size, size, generator: new Generator(0));
        var reference = trainTime.forward(x);
        double diff = (reference - fused.forward(x)).abs().max().item<float>();
        double scale = Math.Max(1.0, reference.abs().max().item<float>());
        return new FoldCheck(trainTime.Blocks().Count(), size, channels, diff, scale);
    }

    /// <summary>One line: blocks folded and the difference found.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "fused {0} blocks; max |train-time - fused| on a random 1x{1}x{2}x{2} batch: {3:E2}", Blocks, Channels, Size, MaxDifference);

    /// <summary>Throws, naming the likely cause, when the two forms disagree.</summary>
    public void EnsureAgrees()
    {
        if (!Agrees)
            throw new MobileOneException(string.Format(CultureInfo.InvariantCulture,
                "the fused model disagrees with the train-time model by {0:E2} (logits up to {1:G3}); the checkpoint's BatchNorm statistics may be corrupt", MaxDifference, Scale));
    }
}
