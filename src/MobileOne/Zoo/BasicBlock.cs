using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>ResNet's basic block as torchvision defines it: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the block; a 1x1 conv+BN shortcut (<c>downsample</c>) is added when the shape changes.</summary>
    public BasicBlock(long inChannels, long channels, long stride) : base(nameof(BasicBlock))
    {
        conv1 = Layers.Conv(inChannels, channels, 3, stride);
        bn1 = Layers.Norm(channels);
        relu = nn.ReLU();
        conv2 = Layers.Conv(channels, channels, 3);
        bn2 = Layers.Norm(channels);
        if (stride != 1 || inChannels != channels) downsample = Layers.Numbered(Layers.Conv(inChannels, channels, 1, stride), Layers.Norm(channels));
        RegisterComponents();
    }

    // Field names are torchvision's state-dict names.
#pragma warning disable IDE1006
    // Declared in torchvision's registration order, which TorchSharp follows.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    /// <summary>The first convolution and its BatchNorm.</summary>
    internal (Conv2d Conv, BatchNorm2d Bn) First => (conv1, bn1);

    /// <summary>The second convolution and its BatchNorm.</summary>
    internal (Conv2d Conv, BatchNorm2d Bn) Second => (conv2, bn2);

    /// <summary>The 1x1 conv+BN shortcut; null when the shortcut is the identity.</summary>
    internal Sequential? Downsample => downsample;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn2.call(conv2.call(relu.call(bn1.call(conv1.call(x)))));
        var shortcut = downsample is null ? x : downsample.call(x);
        return relu.call(y + shortcut).MoveToOuterDisposeScope();
    }
}
