using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// Squeeze-and-Excitation as torchvision defines it (<c>fc1</c>, <c>fc2</c> 1x1 convolutions with bias):
/// x * gate(fc2(act(fc1(mean(x))))). The global mean is a synchronisation point: every pixel must be
/// computed before any can be scaled, which is why the paper finds SE costly on a phone.
/// </summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    public SqueezeExcitation(long channels, long squeezeChannels, ActivationKind activation = ActivationKind.ReLU, ActivationKind gate = ActivationKind.Sigmoid)
        : base(nameof(SqueezeExcitation))
    {
        fc1 = nn.Conv2d(channels, squeezeChannels, 1);
        fc2 = nn.Conv2d(squeezeChannels, channels, 1);
        this.activation = Activation.Create(activation) ?? throw new MobileOneException("SE needs an activation");
        scale_activation = Activation.Create(gate) ?? throw new MobileOneException("SE needs a gate");
        RegisterComponents();
    }

    // Field names are torchvision's state-dict names.
#pragma warning disable IDE1006
    private readonly Conv2d fc1, fc2;
    private readonly nn.Module<Tensor, Tensor> activation, scale_activation;
#pragma warning restore IDE1006

    /// <summary>The squeezing 1x1 convolution.</summary>
    internal Conv2d Fc1 => fc1;

    /// <summary>The expanding 1x1 convolution.</summary>
    internal Conv2d Fc2 => fc2;

    /// <summary>The activation between the two convolutions.</summary>
    internal nn.Module<Tensor, Tensor> Nonlinearity => activation;

    /// <summary>The gate applied to the expanded channels.</summary>
    internal nn.Module<Tensor, Tensor> Gate => scale_activation;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var s = x.mean([2, 3], keepdim: true);
        s = scale_activation.call(fc2.call(activation.call(fc1.call(s))));
        return (x * s).MoveToOuterDisposeScope();
    }
}
