using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// Squeeze-Excite as MobileOne-S4 uses it (Apple's <c>SEBlock</c>): global average pool, 1x1 conv
/// C -> int(C/16) with bias, ReLU, 1x1 conv back with bias, sigmoid, channel-wise scaling.
/// The pool is a mean over the spatial axes, so any input size works.
/// </summary>
public sealed class SqueezeExcite : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module for <paramref name="channels"/> channels.</summary>
    public SqueezeExcite(long channels, double ratio = MobileOneConfig.SqueezeExciteRatio) : base(nameof(SqueezeExcite))
    {
        long reduced = (long)(channels * ratio);
        reduce = nn.Conv2d(channels, reduced, 1, bias: true);
        expand = nn.Conv2d(reduced, channels, 1, bias: true);
        RegisterComponents();
    }

    // Field names are the state-dict names (TorchSharp registers fields by name).
    private readonly Conv2d reduce;
    private readonly Conv2d expand;

    /// <summary>The squeezing 1x1 convolution.</summary>
    public Conv2d Reduce => reduce;

    /// <summary>The expanding 1x1 convolution.</summary>
    public Conv2d Expand => expand;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var s = x.mean([2, 3], keepdim: true);
        s = Expand.call(nn.functional.relu(Reduce.call(s))).sigmoid();
        return (x * s).MoveToOuterDisposeScope();
    }
}
