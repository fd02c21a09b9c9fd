using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// ShuffleNetV2's unit as torchvision defines it. Stride 1: split the channels in two halves, transform
/// the second (<c>branch2</c>), concatenate. Stride 2: both branches see the whole input
/// (<c>branch1</c> depthwise then pointwise). Then shuffle the channels across the two halves: a
/// reshape and a transpose, pure memory traffic that FLOPs do not see.
/// </summary>
public sealed class ShuffleUnit : nn.Module<Tensor, Tensor>
{
    private readonly long inChannels, outChannels;

    /// <summary>Creates the unit.</summary>
    public ShuffleUnit(long inChannels, long outChannels, long stride) : base(nameof(ShuffleUnit))
    {
        if (stride == 1 && inChannels != outChannels)
            throw new MobileOneException($"a stride-1 ShuffleNetV2 unit needs equal channels, found {inChannels} -> {outChannels}");
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        Stride = stride;
        long half = outChannels / 2;
        branch1 = stride > 1
            ? Layers.Numbered(Layers.Conv(inChannels, inChannels, 3, stride, inChannels), Layers.Norm(inChannels),
                Layers.Conv(inChannels, half, 1), Layers.Norm(half), nn.ReLU())
            : Layers.Numbered();
        branch2 = Layers.Numbered(Layers.Conv(stride > 1 ? inChannels : half, half, 1), Layers.Norm(half), nn.ReLU(),
            Layers.Conv(half, half, 3, stride, half), Layers.Norm(half),
            Layers.Conv(half, half, 1), Layers.Norm(half), nn.ReLU());
        RegisterComponents();
    }

    // Field names are torchvision's state-dict names.
#pragma warning disable IDE1006
    private readonly Sequential branch1, branch2;
#pragma warning restore IDE1006

    /// <summary>Input channels.</summary>
    internal long InChannels => inChannels;

    /// <summary>Output channels.</summary>
    internal long OutChannels => outChannels;

    /// <summary>The branch that sees the whole input at stride 2 (empty at stride 1).</summary>
    internal Sequential Branch1 => branch1;

    /// <summary>The branch that transforms the second half (stride 1) or the whole input (stride 2).</summary>
    internal Sequential Branch2 => branch2;

    /// <summary>Stride of the unit.</summary>
    public long Stride { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor y;
        if (Stride == 1)
        {
            var halves = x.chunk(2, dim: 1);
            y = cat([halves[0], branch2.call(halves[1])], 1);
        }
        else
        {
            y = cat([branch1.call(x), branch2.call(x)], 1);
        }
        var (n, c, h, w) = (y.shape[0], y.shape[1], y.shape[2], y.shape[3]);
        return y.view(n, 2, c / 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w).MoveToOuterDisposeScope();
    }
}
