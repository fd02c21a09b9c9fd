using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// The part of a detector's backbone taken from a classification network: it returns the network's stride-16
/// and stride-32 maps, the two levels SSDLite takes from its backbone (MobileNetV3 paper, section 6.3); the
/// detector's extra layers add the coarser ones.
/// </summary>
public abstract class FeatureTrunk : nn.Module<Tensor, Tensor[]>
{
    /// <summary>Creates the trunk.</summary>
    protected FeatureTrunk(string name) : base(name) { }

    /// <summary>The state-dict name of the trunk inside the detector's backbone (torchvision's <c>features</c>).</summary>
    public abstract string StateName { get; }

    /// <summary>Channels of the maps <see cref="nn.Module{T, TResult}.forward"/> returns, in order.</summary>
    public abstract IReadOnlyList<int> OutChannels { get; }

    /// <summary>Input channels of the first convolution.</summary>
    public abstract int InChannels { get; }

    /// <summary>
    /// The trunk as a chain of named modules, each reading the previous one's output; the maps are the outputs of
    /// the parts marked <see cref="TrunkPart.IsMap"/>, in order. The forward pass runs this chain, and an exporter walks it.
    /// </summary>
    public abstract IReadOnlyList<TrunkPart> Chain { get; }

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor x)
    {
        var maps = new List<Tensor>();
        foreach (var part in Chain)
        {
            x = part.Module.call(x);
            if (part.IsMap) maps.Add(x);
        }
        return maps.ToArray();
    }
}

/// <summary>One link of a <see cref="FeatureTrunk.Chain"/>: its state-dict name within the trunk, the module, and whether its output is one of the maps.</summary>
public sealed record TrunkPart(string Name, nn.Module<Tensor, Tensor> Module, bool IsMap);
