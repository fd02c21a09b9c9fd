namespace MobileOne.Tests;

/// <summary>
/// torchvision's own <c>ssdlite320_mobilenet_v3_large</c> (Debian's python3-torchvision) run once per test class:
/// its weights, an input, its head outputs, anchors, detections and loss (python/ssdlite_reference.py).
/// </summary>
public sealed class SsdLiteReference() : TorchvisionScript("ssdlite_reference.py")
{
    /// <summary>The file NAME of the reference folder.</summary>
    public string File(string name) => Path.Combine(Output, name);
}
