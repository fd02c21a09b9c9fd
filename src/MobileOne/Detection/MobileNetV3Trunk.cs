using MobileOne.Zoo;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// MobileNetV3-Large cut as torchvision's SSDLite cuts it (<c>SSDLiteFeatureExtractorMobileNet</c>): part
/// <c>0</c> runs from the stem to the expansion layer of the last stride-2 block (C4, 672 channels at stride
/// 16), part <c>1</c> from that block's depthwise convolution to the last 1x1 convolution (stride 32). With
/// torchvision's defaults for a detector trained from scratch: the reduced tail (480 channels out) and
/// BatchNorm momentum 0.03, so that torchvision's state dicts load key for key.
/// </summary>
public sealed class MobileNetV3Trunk : FeatureTrunk
{
    // An array, not fields: TorchSharp would register module fields under their C# names.
    private readonly Sequential[] parts;

    /// <summary>Creates the trunk.</summary>
    public MobileNetV3Trunk(bool reducedTail = true, double momentum = 0.03) : base(nameof(MobileNetV3Trunk))
    {
        var units = MobileNetV3.LargeFeatures(reducedTail, momentum);
        // Stem, 15 blocks, last convolution: the last stride-2 block is the fourth unit from the end.
        int split = units.Count - 4;
        var cut = (InvertedResidual)units[split];
        var halves = cut.Body.named_children().Select(c => (c.name, (nn.Module<Tensor, Tensor>)c.module)).ToList();
        var c4 = nn.Sequential(units.Take(split).Select((m, i) => (Name(i), m)).Append((Name(split), halves[0].Item2)).ToArray());
        var tail = nn.Sequential(halves.Skip(1).ToArray());
        var c5 = nn.Sequential(units.Skip(split + 1).Prepend(tail).Select((m, i) => (Name(i), m)).ToArray());
        OutChannels = [(int)((Conv2d)halves[0].Item2.modules().First(m => m is Conv2d)).out_channels, (int)((Conv2d)units[^1].modules().First(m => m is Conv2d)).out_channels];
        parts = [c4, c5];
        register_module("0", c4);
        register_module("1", c5);
    }

    private static string Name(int i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string StateName => "features";

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels { get; }

    /// <inheritdoc/>
    public override int InChannels => 3;

    /// <inheritdoc/>
    public override IReadOnlyList<TrunkPart> Chain => [new("0", parts[0], IsMap: true), new("1", parts[1], IsMap: true)];
}
