using MobileOne.Models;

namespace MobileOne.Zoo;

/// <summary>
/// The efficient networks of the paper's metric study (Section 3), by name. torchvision's networks are
/// built exactly as torchvision builds them (same state-dict names and shapes, so the same parameter
/// and MAC counts); MobileNetV1 and RepVGG-A0 follow their papers; MobileOne is this library's.
/// </summary>
public static class NetworkZoo
{
    /// <summary>Every network, in the order tables list them.</summary>
    public static IReadOnlyList<ZooEntry> Entries { get; } =
    [
        new("mobilenet_v1", "MobileNet", "Howard et al. 2017, Table 1", false, _ => MobileNetV1.Create()),
        new("mobilenet_v2", "MobileNet", "torchvision mobilenet_v2", false, _ => MobileNetV2.Create()),
        new("mobilenet_v3_small", "MobileNet", "torchvision mobilenet_v3_small", false, _ => MobileNetV3.Small()),
        new("mobilenet_v3_large", "MobileNet", "torchvision mobilenet_v3_large", false, _ => MobileNetV3.Large()),
        new("efficientnet_b0", "EfficientNet", "torchvision efficientnet_b0", false, _ => EfficientNet.B0()),
        new("shufflenet_v2_x1_0", "ShuffleNet", "torchvision shufflenet_v2_x1_0", false, _ => ShuffleNetV2.X1_0()),
        new("mnasnet1_0", "MNASNet", "torchvision mnasnet1_0", false, _ => MnasNet.A1_0()),
        new("resnet18", "ResNet", "torchvision resnet18", false, _ => ResNet.R18()),
        new("mobilevit_xs", "MobileViT", "Mehta and Rastegari 2022, Table 4", false, _ => MobileVit.XS()),
        new("repvgg_a0", "RepVGG", "Ding et al. 2021, RepVGG-A0", true, fused => RepVgg.A0(fused)),
        .. MobileOneVariants.Names.Select(v => new ZooEntry($"mobileone_{v}", "MobileOne", $"MobileOne-{v.ToUpperInvariant()}, paper Table 7", true,
            fused => MobileOne(v, fused))),
    ];

    private static MobileOneModel MobileOne(string variant, bool fused)
    {
        if (fused) return new MobileOneModel(MobileOneVariants.Get(variant), inferenceMode: true);
        return new MobileOneModel(MobileOneVariants.Get(variant));
    }

    /// <summary>The names, in order.</summary>
    public static IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>The entry called <paramref name="name"/>; a clear error listing the names otherwise.</summary>
    public static ZooEntry Get(string name) =>
        Entries.FirstOrDefault(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new MobileOneException($"unknown network '{name}'; the zoo has: {string.Join(", ", Names)}");
}
