using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// SSDLite's backbone: a <see cref="FeatureTrunk"/> (two maps, strides 16 and 32) and four extra layers
/// (<see cref="SsdLiteLayers.Extra"/>) that halve the map each time, to 512, 256, 256 and 128 channels: six maps,
/// 20, 10, 5, 3, 2 and 1 cells a side at 320x320.
/// </summary>
public sealed class SsdLiteBackbone : nn.Module<Tensor, Tensor[]>
{
    /// <summary>Channels of the extra layers.</summary>
    public static readonly IReadOnlyList<int> ExtraChannels = [512, 256, 256, 128];

#pragma warning disable IDE1006 // torchvision's state-dict name
    private readonly ModuleList<Sequential> extra;
#pragma warning restore IDE1006

    /// <summary>Creates the backbone around <paramref name="trunk"/>.</summary>
    public SsdLiteBackbone(FeatureTrunk trunk) : base(nameof(SsdLiteBackbone))
    {
        this.trunk = [trunk];
        var inputs = ExtraChannels.Prepend(trunk.OutChannels[^1]).ToArray();
        extra = nn.ModuleList(ExtraChannels.Select((c, i) => SsdLiteLayers.Extra(inputs[i], c)).ToArray());
        register_module(trunk.StateName, trunk);
        register_module("extra", extra);
    }

    // An array, not a field: TorchSharp would register a module field under its C# name.
    private readonly FeatureTrunk[] trunk;

    /// <summary>The trunk.</summary>
    public FeatureTrunk Trunk => trunk[0];

    /// <summary>The extra layers.</summary>
    public ModuleList<Sequential> Extra => extra;

    /// <summary>Channels of the six maps.</summary>
    public IReadOnlyList<int> OutChannels => [.. Trunk.OutChannels, .. ExtraChannels];

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor x)
    {
        var maps = Trunk.call(x).ToList();
        foreach (var layer in extra) maps.Add(layer.call(maps[^1]));
        return maps.ToArray();
    }
}
