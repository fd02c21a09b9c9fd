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
}
