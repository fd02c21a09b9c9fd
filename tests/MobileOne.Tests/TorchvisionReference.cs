namespace MobileOne.Tests;

/// <summary>
/// torchvision's own definitions (Debian's python3-torchvision) run once per test class: for each
/// network its seeded weights, an input, its logits, its parameter count, MACs and state-dict keys.
/// </summary>
public sealed class TorchvisionReference() : TorchvisionScript("torchvision_reference.py", Names)
{
    public static readonly string[] Names =
        ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "mnasnet1_0", "resnet18"];

    /// <summary>The folder with NAME/{weights.pth, input.npy, logits.npy, info.json}.</summary>
    public string Folder(string name) => Path.Combine(Output, name);
}
