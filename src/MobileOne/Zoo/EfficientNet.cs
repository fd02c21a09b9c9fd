using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// EfficientNet-B0 (Tan and Le 2019) exactly as torchvision builds <c>efficientnet_b0()</c>: MBConv
/// blocks with SE (SiLU, sigmoid gate), SiLU everywhere; 5.3M parameters, 386M MACs.
/// Stochastic depth has no weights and is the identity at inference, so it is left out.
/// </summary>
public static class EfficientNet
{
    // (expansion, kernel, stride, input, output, layers): B0's stages.
    private static readonly (int E, int K, int S, int In, int Out, int N)[] B0Settings =
        [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)];

    /// <summary>EfficientNet-B0.</summary>
    public static ZooNetwork B0(int numClasses = 1000)
    {
        var features = new List<nn.Module<Tensor, Tensor>> { Layers.ConvNormActivation(3, 32, 3, 2, activation: ActivationKind.SiLU) };
        foreach (var st in B0Settings)
        {
            var stage = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < st.N; i++)
            {
                int inC = i == 0 ? st.In : st.Out, stride = i == 0 ? st.S : 1, exp = inC * st.E;
                var body = Layers.Numbered(
                    exp != inC ? Layers.ConvNormActivation(inC, exp, 1, activation: ActivationKind.SiLU) : null,
                    Layers.ConvNormActivation(exp, exp, st.K, stride, groups: exp, activation: ActivationKind.SiLU),
                    new SqueezeExcitation(exp, Math.Max(1, inC / 4), ActivationKind.SiLU, ActivationKind.Sigmoid),
                    Layers.ConvNormActivation(exp, st.Out, 1, activation: ActivationKind.None));
                stage.Add(new InvertedResidual("block", body, stride == 1 && inC == st.Out));
            }
            features.Add(Layers.Numbered(stage));
        }
        features.Add(Layers.ConvNormActivation(320, 1280, 1, activation: ActivationKind.SiLU));
        return new ZooNetwork("efficientnet_b0", [("features", Layers.Numbered(features))],
            [("classifier", Layers.Numbered(nn.Dropout(0.2), nn.Linear(1280, numClasses)))]);
    }
}
