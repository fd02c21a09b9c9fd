using MobileOne.Models;
using MobileOne.Zoo;

namespace MobileOne.Detection;

/// <summary>
/// The detectors, as zoo entries measured at 320x320 with COCO's 91 classes (torchvision's count, background
/// included): torchvision's <c>ssdlite320_mobilenet_v3_large</c> and SSDLite on each MobileOne.
/// </summary>
public static class DetectorZoo
{
    /// <summary>Every detector.</summary>
    public static IReadOnlyList<ZooEntry> Entries { get; } = DetectorConfig.Backbones.Select(Entry).ToList();

    private static ZooEntry Entry(string backbone)
    {
        var config = new DetectorConfig(backbone);
        return new ZooEntry(config.Name, "SSDLite",
            config.Reparameterizable ? $"SSDLite on MobileOne-{backbone[^2..].ToUpperInvariant()} (strides 16 and 32)" : "torchvision ssdlite320_mobilenet_v3_large",
            config.Reparameterizable, fused => config.Create(fused: fused))
        {
            Task = "detection", NumClasses = config.NumClasses, InputSize = config.ImageSize,
        };
    }
}
