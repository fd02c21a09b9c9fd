using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// MobileNetV3-Large and -Small (Howard et al. 2019) exactly as torchvision builds
/// <c>mobilenet_v3_large()</c> (5.5M parameters, 217M MACs) and <c>mobilenet_v3_small()</c> (2.5M, 57M):
/// inverted residuals with optional SE (Hardsigmoid gate), ReLU or Hardswish, BatchNorm eps 1e-3 and momentum 0.01.
/// </summary>
public static class MobileNetV3
{
    private const double Eps = 1e-3;

    // (input, kernel, expanded, output, SE, Hardswish, stride), torchvision's tables for width 1.0.
    private static readonly (int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] LargeSettings =
    [
        (16, 3, 16, 16, false, false, 1), (16, 3, 64, 24, false, false, 2), (24, 3, 72, 24, false, false, 1),
        (24, 5, 72, 40, true, false, 2), (40, 5, 120, 40, true, false, 1), (40, 5, 120, 40, true, false, 1),
        (40, 3, 240, 80, false, true, 2), (80, 3, 200, 80, false, true, 1), (80, 3, 184, 80, false, true, 1),
        (80, 3, 184, 80, false, true, 1), (80, 3, 480, 112, true, true, 1), (112, 3, 672, 112, true, true, 1),
        (112, 5, 672, 160, true, true, 2), (160, 5, 960, 160, true, true, 1), (160, 5, 960, 160, true, true, 1),
    ];

    private static readonly (int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] SmallSettings =
    [
        (16, 3, 16, 16, true, false, 2), (16, 3, 72, 24, false, false, 2), (24, 3, 88, 24, false, false, 1),
        (24, 5, 96, 40, true, true, 2), (40, 5, 240, 40, true, true, 1), (40, 5, 240, 40, true, true, 1),
        (40, 5, 120, 48, true, true, 1), (48, 5, 144, 48, true, true, 1), (48, 5, 288, 96, true, true, 2),
        (96, 5, 576, 96, true, true, 1), (96, 5, 576, 96, true, true, 1),
    ];

    /// <summary>MobileNetV3-Large.</summary>
    public static ZooNetwork Large(int numClasses = 1000) => Create("mobilenet_v3_large", LargeSettings, 1280, numClasses);

    /// <summary>MobileNetV3-Small.</summary>
    public static ZooNetwork Small(int numClasses = 1000) => Create("mobilenet_v3_small", SmallSettings, 1024, numClasses);

    /// <summary>
    /// The <c>features</c> units of MobileNetV3-Large (stem, 15 inverted residuals, last 1x1 convolution), as
    /// torchvision builds them for a detector: with <paramref name="reducedTail"/> the last stage has half the
    /// channels (the paper's Table 6 option, torchvision's <c>reduced_tail</c>), and every BatchNorm takes
    /// <paramref name="momentum"/>.
    /// </summary>
    public static IReadOnlyList<nn.Module<Tensor, Tensor>> LargeFeatures(bool reducedTail, double momentum) =>
        Features(reducedTail ? ReduceTail(LargeSettings) : LargeSettings, momentum);

    /// <summary>
    /// The <c>features</c> units of MobileNetV3-Large as torchvision's <c>mobilenet_v3_large(dilated=True)</c> builds
    /// them for DeepLabV3: the last stage (the stride-2 block and the two after it) runs at stride 1 with its depthwise
    /// convolutions dilated by 2, for an output stride of 16; BatchNorm eps 1e-3 and momentum 0.01, torchvision's defaults.
    /// </summary>
    public static IReadOnlyList<nn.Module<Tensor, Tensor>> DilatedLargeFeatures() => Features(LargeSettings, 0.01, dilatedTail: 3);

    // torchvision's reduced tail halves the last three rows: the first one's output, the others throughout.
    private static (int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] ReduceTail((int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] settings) =>
        settings.Select((b, i) => i < settings.Length - 3 ? b
            : i == settings.Length - 3 ? b with { Out = b.Out / 2 }
            : b with { In = b.In / 2, Exp = b.Exp / 2, Out = b.Out / 2 }).ToArray();

    // The last dilatedTail rows run at stride 1 with dilation 2; the residual still follows the table's stride, as torchvision's.
    private static List<nn.Module<Tensor, Tensor>> Features((int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] settings, double momentum, int dilatedTail = 0)
    {
        var features = new List<nn.Module<Tensor, Tensor>> { Layers.ConvNormActivation(3, 16, 3, 2, activation: ActivationKind.Hardswish, eps: Eps, momentum: momentum) };
        foreach (var (b, i) in settings.Select((b, i) => (b, i)))
        {
            var act = b.Hs ? ActivationKind.Hardswish : ActivationKind.ReLU;
            bool dilated = i >= settings.Length - dilatedTail;
            var body = Layers.Numbered(
                b.Exp != b.In ? Layers.ConvNormActivation(b.In, b.Exp, 1, activation: act, eps: Eps, momentum: momentum) : null,
                Layers.ConvNormActivation(b.Exp, b.Exp, b.K, dilated ? 1 : b.S, groups: b.Exp, activation: act, eps: Eps, momentum: momentum, dilation: dilated ? 2 : 1),
                b.Se ? new SqueezeExcitation(b.Exp, Layers.MakeDivisible(b.Exp / 4), ActivationKind.ReLU, ActivationKind.Hardsigmoid) : null,
                Layers.ConvNormActivation(b.Exp, b.Out, 1, activation: ActivationKind.None, eps: Eps, momentum: momentum));
            features.Add(new InvertedResidual("block", body, b.S == 1 && b.In == b.Out));
        }
        int last = settings[^1].Out;
        features.Add(Layers.ConvNormActivation(last, 6 * last, 1, activation: ActivationKind.Hardswish, eps: Eps, momentum: momentum));
        return features;
    }

    private static ZooNetwork Create(string name, (int In, int K, int Exp, int Out, bool Se, bool Hs, int S)[] settings, int lastChannel, int numClasses)
    {
        int lastConv = 6 * settings[^1].Out;
        // torchvision's MobileNetV3 BatchNorm: eps 1e-3, momentum 0.01.
        return new ZooNetwork(name, [("features", Layers.Numbered(Features(settings, 0.01)))],
            [("classifier", Layers.Numbered(nn.Linear(lastConv, lastChannel), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(lastChannel, numClasses)))]);
    }
}
