using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// MobileNetV1 (Howard et al. 2017, Table 1): a 3x3 stride-2 convolution, then 13 depthwise-separable
/// layers (3x3 depthwise + 1x1 pointwise, each with BatchNorm and ReLU), global pooling and a linear
/// classifier: 4.2M parameters, 569M multiply-adds at 224. torchvision has no MobileNetV1; names here are
/// <c>features.N</c> (the stem, then one Sequential per separable layer) and <c>classifier</c>.
/// </summary>
public static class MobileNetV1
{
    // (output channels, stride) of each depthwise-separable layer, from the paper's Table 1.
    private static readonly (int Channels, int Stride)[] Separable =
    [
        (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
        (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
    ];

    /// <summary>Creates the network (width 1.0).</summary>
    public static ZooNetwork Create(int numClasses = 1000)
    {
        var features = new List<nn.Module<Tensor, Tensor>> { Layers.ConvNormActivation(3, 32, 3, 2) };
        int c = 32;
        foreach (var (outC, stride) in Separable)
        {
            features.Add(Layers.Numbered(
                Layers.ConvNormActivation(c, c, 3, stride, groups: c),
                Layers.ConvNormActivation(c, outC, 1)));
            c = outC;
        }
        return new ZooNetwork("mobilenet_v1", [("features", Layers.Numbered(features))], [("classifier", nn.Linear(c, numClasses))]);
    }
}
