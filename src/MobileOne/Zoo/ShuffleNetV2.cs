using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>ShuffleNetV2 1.0x (Ma et al. 2018) exactly as torchvision builds <c>shufflenet_v2_x1_0()</c>: 2.3M parameters, 145M MACs.</summary>
public static class ShuffleNetV2
{
    /// <summary>ShuffleNetV2 1.0x.</summary>
    public static ZooNetwork X1_0(int numClasses = 1000)
    {
        int[] repeats = [4, 8, 4];
        int[] channels = [24, 116, 232, 464, 1024];
        var body = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv1", Layers.ConvNormActivation(3, channels[0], 3, 2)),
            ("maxpool", nn.MaxPool2d(3, 2, 1)),
        };
        int c = channels[0];
        for (int s = 0; s < repeats.Length; s++)
        {
            int outC = channels[s + 1];
            body.Add(($"stage{s + 2}", Layers.Numbered(Enumerable.Range(0, repeats[s]).Select(i => new ShuffleUnit(i == 0 ? c : outC, outC, i == 0 ? 2 : 1)))));
            c = outC;
        }
        body.Add(("conv5", Layers.ConvNormActivation(c, channels[^1], 1)));
        return new ZooNetwork("shufflenet_v2_x1_0", body, [("fc", nn.Linear(channels[^1], numClasses))]);
    }
}
