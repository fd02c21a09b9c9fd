using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>MobileNetV2 (Sandler et al. 2018) exactly as torchvision builds <c>mobilenet_v2()</c>: 3.5M parameters, 301M MACs.</summary>
public static class MobileNetV2
{
    // (expansion t, channels c, repeats n, first stride s), the paper's Table 2.
    private static readonly (int T, int C, int N, int S)[] Settings =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    /// <summary>Creates the network (width 1.0).</summary>
    public static ZooNetwork Create(int numClasses = 1000)
    {
        var features = new List<nn.Module<Tensor, Tensor>> { Layers.ConvNormActivation(3, 32, 3, 2, activation: ActivationKind.ReLU6) };
        int c = 32;
        foreach (var (t, outC, n, s) in Settings)
        {
            for (int i = 0; i < n; i++)
            {
                int stride = i == 0 ? s : 1, hidden = c * t;
                var body = Layers.Numbered(
                    t != 1 ? Layers.ConvNormActivation(c, hidden, 1, activation: ActivationKind.ReLU6) : null,
                    Layers.ConvNormActivation(hidden, hidden, 3, stride, groups: hidden, activation: ActivationKind.ReLU6),
                    Layers.Conv(hidden, outC, 1),
                    Layers.Norm(outC));
                features.Add(new InvertedResidual("conv", body, stride == 1 && c == outC));
                c = outC;
            }
        }
        features.Add(Layers.ConvNormActivation(c, 1280, 1, activation: ActivationKind.ReLU6));
        return new ZooNetwork("mobilenet_v2", [("features", Layers.Numbered(features))],
            [("classifier", Layers.Numbered(nn.Dropout(0.2), nn.Linear(1280, numClasses)))]);
    }
}
