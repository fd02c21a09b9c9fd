using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>Creates activation modules by kind.</summary>
public static class Activation
{
    /// <summary>A new module computing <paramref name="kind"/>; null for <see cref="ActivationKind.None"/>.</summary>
    public static nn.Module<Tensor, Tensor>? Create(ActivationKind kind) => kind switch
    {
        ActivationKind.None => null,
        ActivationKind.ReLU => nn.ReLU(),
        ActivationKind.ReLU6 => nn.ReLU6(),
        ActivationKind.Hardswish => nn.Hardswish(),
        ActivationKind.Hardsigmoid => nn.Hardsigmoid(),
        ActivationKind.SiLU => nn.SiLU(),
        ActivationKind.GELU => nn.GELU(),
        ActivationKind.Sigmoid => nn.Sigmoid(),
        ActivationKind.Tanh => nn.Tanh(),
        ActivationKind.LeakyReLU => nn.LeakyReLU(0.01),
        _ => throw new MobileOneException($"unknown activation {kind}"),
    };
}
