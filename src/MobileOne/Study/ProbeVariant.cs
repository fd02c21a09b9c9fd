using MobileOne.Zoo;

namespace MobileOne.Study;

/// <summary>One configuration of the probe network, with the paper's iPhone 12 latency where it gives one.</summary>
/// <param name="Name">Row name.</param>
/// <param name="Activation">Activation after every convolution.</param>
/// <param name="Block">How the layers are built.</param>
/// <param name="PaperMs">The paper's iPhone 12 latency of the same variant of its 30-layer network, if reported.</param>
public sealed record ProbeVariant(string Name, ActivationKind Activation, ProbeBlock Block, double? PaperMs)
{
    /// <summary>The activation study: one row per activation the exporter supports; SE-ReLU as the paper lists it.</summary>
    public static IReadOnlyList<ProbeVariant> Activations { get; } =
    [
        new("ReLU", ActivationKind.ReLU, ProbeBlock.Plain, 1.53),
        new("ReLU6", ActivationKind.ReLU6, ProbeBlock.Plain, null),
        new("LeakyReLU", ActivationKind.LeakyReLU, ProbeBlock.Plain, null),
        new("GELU", ActivationKind.GELU, ProbeBlock.Plain, 1.63),
        new("SiLU", ActivationKind.SiLU, ProbeBlock.Plain, 2.54),
        new("Hardswish", ActivationKind.Hardswish, ProbeBlock.Plain, null),
        new("Sigmoid", ActivationKind.Sigmoid, ProbeBlock.Plain, null),
        new("Tanh", ActivationKind.Tanh, ProbeBlock.Plain, null),
        new("SE-ReLU", ActivationKind.ReLU, ProbeBlock.SqueezeExcite, 2.10),
    ];

    /// <summary>The block study: plain, skip connections, SE, and multi-branch blocks before and after folding.</summary>
    public static IReadOnlyList<ProbeVariant> Blocks { get; } =
    [
        new("plain", ActivationKind.ReLU, ProbeBlock.Plain, 1.53),
        new("skip connections", ActivationKind.ReLU, ProbeBlock.Skip, 2.62),
        new("squeeze-excite", ActivationKind.ReLU, ProbeBlock.SqueezeExcite, 2.10),
        new("multi-branch (unfused)", ActivationKind.ReLU, ProbeBlock.MultiBranch, null),
        new("multi-branch folded", ActivationKind.ReLU, ProbeBlock.MultiBranchFused, null),
    ];
}
