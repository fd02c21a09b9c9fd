using MobileOne.Detection;
using MobileOne.Zoo;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>
/// MobileNetV3-Large as torchvision's <c>deeplabv3_mobilenet_v3_large</c> takes it: the 17 <c>features</c> units
/// (<see cref="MobileNetV3.DilatedLargeFeatures"/>, output stride 16), named <c>0</c> to <c>16</c>. Its maps are
/// unit 16's output (960 channels, stride 16, the "out" level) and, with <c>aux</c>, unit 4's before it (40
/// channels, stride 8: torchvision's C2, the "aux" level).
/// </summary>
public sealed class MobileNetV3DilatedTrunk : FeatureTrunk
{
    /// <summary>The unit whose output feeds the auxiliary head: the last one at stride 8.</summary>
    public const int AuxUnit = 4;

    private readonly TrunkPart[] chain;

    /// <summary>Creates the trunk; with <paramref name="aux"/> it also returns the stride-8 map.</summary>
    public MobileNetV3DilatedTrunk(bool aux) : base(nameof(MobileNetV3DilatedTrunk))
    {
        var units = MobileNetV3.DilatedLargeFeatures();
        chain = units.Select((m, i) => new TrunkPart(i.ToString(System.Globalization.CultureInfo.InvariantCulture), m,
            IsMap: i == units.Count - 1 || (aux && i == AuxUnit))).ToArray();
        foreach (var part in chain) register_module(part.Name, part.Module);
        OutChannels = chain.Where(p => p.IsMap).Select(p => OutChannelsOf(p.Module)).ToArray();
    }

    // A unit's output channels: those of its last convolution (the projection of an inverted residual).
    private static int OutChannelsOf(nn.Module unit) => (int)unit.modules().OfType<TorchSharp.Modules.Conv2d>().Last().out_channels;

    /// <inheritdoc/>
    public override string StateName => "backbone";

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels { get; }

    /// <inheritdoc/>
    public override int InChannels => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<TrunkPart> Chain => chain;
}
