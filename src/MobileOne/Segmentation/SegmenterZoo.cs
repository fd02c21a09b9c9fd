using MobileOne.Zoo;

namespace MobileOne.Segmentation;

/// <summary>
/// The segmenters, as zoo entries measured at 512x512 with Pascal VOC's 21 classes (background included), output
/// stride 16, no auxiliary head: torchvision's <c>deeplabv3_mobilenet_v3_large</c> and DeepLabV3 on each MobileOne.
/// </summary>
public static class SegmenterZoo
{
    /// <summary>The square input size the entries are measured at.</summary>
    public const int InputSize = 512;

    /// <summary>Every segmenter.</summary>
    public static IReadOnlyList<ZooEntry> Entries { get; } = SegmenterConfig.Backbones.Select(Entry).ToList();

    private static ZooEntry Entry(string backbone)
    {
        var config = new SegmenterConfig(backbone);
        return new ZooEntry(config.Name, "DeepLabV3",
            config.Reparameterizable ? $"DeepLabV3 on MobileOne-{backbone[^2..].ToUpperInvariant()} (output stride 16)" : "torchvision deeplabv3_mobilenet_v3_large",
            config.Reparameterizable, fused => config.Create(fused: fused))
        {
            Task = "segmentation", NumClasses = config.NumClasses, InputSize = InputSize,
        };
    }
}
