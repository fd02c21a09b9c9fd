using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// One train-time branch of a <see cref="MobileOneBlock"/>: a bias-free convolution followed by
/// BatchNorm (state-dict names <c>conv</c> and <c>bn</c>, as in Apple's <c>_conv_bn</c>).
/// </summary>
public sealed class ConvBn : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the branch.</summary>
    public ConvBn(long inChannels, long outChannels, long kernelSize, long stride, long padding, long groups, long dilation = 1)
        : base(nameof(ConvBn))
    {
        conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, dilation: dilation, groups: groups, bias: false);
        bn = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    // Field names are the state-dict names (TorchSharp registers fields by name).
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;

    /// <summary>The convolution (no bias).</summary>
    public Conv2d Conv => conv;

    /// <summary>The BatchNorm after the convolution.</summary>
    public BatchNorm2d Bn => bn;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var y = Conv.call(x);
        return Bn.call(y);
    }
}
