namespace MobileOne.Tests;

/// <summary>
/// torchvision's own <c>deeplabv3_mobilenet_v3_large</c> (Debian's python3-torchvision) run once per test class:
/// its weights, an input, its logits, and its state-dict layout with and without the auxiliary head (python/deeplabv3_reference.py).
/// </summary>
public sealed class DeepLabV3Reference() : TorchvisionScript("deeplabv3_reference.py")
{
    /// <summary>The file NAME of the reference folder.</summary>
    public string File(string name) => Path.Combine(Output, name);
}
