using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// How a MobileOne trained from scratch starts the BatchNorm scales (gamma) of its branches. <see cref="Ones"/> is
/// PyTorch's default, what Apple's code trains ImageNet with. <see cref="Identity"/> starts every block that has a
/// skip branch as ReLU(BN(x)): the gammas of its conv and scale branches are zero, its skip's stays 1. The train-time
/// network then starts as a stack of normalised identities between its downsampling blocks, shallow in effect, and
/// grows its branches from there, as zero-gamma initialisation does for residual networks (Goyal et al., 2017).
/// Without it, SSDLite on MobileOne-S0 from random weights barely learns (docs/detection.md): each of S0's 35 blocks
/// with a skip adds four or five random branches of equal weight to it, and the input's signal is lost on the way to
/// the stride-16 features; the same widths with 7 blocks instead of 21 learn at once from PyTorch's start.
/// </summary>
public static class BranchInit
{
    /// <summary>Every BatchNorm scale 1.</summary>
    public const string Ones = "ones";

    /// <summary>Conv and scale branches of the blocks with a skip branch start with gamma 0.</summary>
    public const string Identity = "identity";

    /// <summary>Every name.</summary>
    public static IReadOnlyList<string> Names { get; } = [Ones, Identity];

    /// <summary>Applies <paramref name="name"/> to <paramref name="network"/>'s BatchNorm scales; returns how many blocks it changed.</summary>
    public static int Apply(MobileOneModel network, string name) => name switch
    {
        Ones => 0,
        Identity => StartAsIdentity(network),
        _ => throw new MobileOneException($"unknown branch initialisation '{name}'; known: {string.Join(", ", Names)}"),
    };

    private static int StartAsIdentity(MobileOneModel network)
    {
        using var noGrad = no_grad();
        int blocks = 0;
        foreach (var block in network.modules().OfType<MobileOneBlock>().Where(b => b.Skip is not null && !b.IsFused))
        {
            foreach (var branch in block.ConvBranches!) branch.Bn.weight!.zero_();
            block.Scale?.Bn.weight!.zero_();
            blocks++;
        }
        return blocks;
    }
}
