using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>ResNet-18 (He et al. 2016) exactly as torchvision builds <c>resnet18()</c>: 11.7M parameters, 1.81G MACs.</summary>
public static class ResNet
{
    /// <summary>ResNet-18.</summary>
    public static ZooNetwork R18(int numClasses = 1000)
    {
        var body = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv1", Layers.Conv(3, 64, 7, 2)),
            ("bn1", Layers.Norm(64)),
            ("relu", nn.ReLU()),
            ("maxpool", nn.MaxPool2d(3, 2, 1)),
        };
        int c = 64;
        int[] widths = [64, 128, 256, 512];
        for (int s = 0; s < widths.Length; s++)
        {
            int stride = s == 0 ? 1 : 2;
            body.Add(($"layer{s + 1}", Layers.Numbered(new BasicBlock(c, widths[s], stride), new BasicBlock(widths[s], widths[s], 1))));
            c = widths[s];
        }
        return new ZooNetwork("resnet18", body, [("fc", nn.Linear(c, numClasses))]);
    }
}
