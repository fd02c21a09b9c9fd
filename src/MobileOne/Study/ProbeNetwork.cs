using MobileOne.Models;
using MobileOne.Zoo;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Study;

/// <summary>
/// The paper's 30-layer convolutional probe (Section 3), as this project defines it (the paper gives
/// no widths): thirty 3x3 convolutions at 224x224 input, stride 2 at layers 1, 2, 10, 18 and 25, widths
/// 16, 32, 64, 128, 256 (maps 112 down to 7), then global pooling and a 1000-way classifier; about 0.79G MACs.
/// Only the layer type changes between variants, so latency differences are the cost of that type.
/// </summary>
public static class ProbeNetwork
{
    // (channels, layers, stride of the first layer): 1 + 8 + 8 + 7 + 6 = 30 layers.
    private static readonly (int Channels, int Layers, int Stride)[] Stages = [(16, 1, 2), (32, 8, 2), (64, 8, 2), (128, 7, 2), (256, 6, 2)];

    /// <summary>Number of convolutional layers.</summary>
    public static int Depth => Stages.Sum(s => s.Layers);

    /// <summary>Creates the network for <paramref name="variant"/> (eval mode).</summary>
    public static ZooNetwork Create(ProbeVariant variant, int numClasses = 1000)
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int c = 3;
        foreach (var (outC, n, firstStride) in Stages)
        {
            for (int i = 0; i < n; i++)
            {
                int stride = i == 0 ? firstStride : 1;
                layers.Add(Layer(variant, c, outC, stride));
                c = outC;
            }
        }
        var net = new ZooNetwork($"probe_{variant.Name}", [("features", Layers.Numbered(layers))], [("classifier", nn.Linear(c, numClasses))]);
        net.eval();
        return net;
    }

    private static nn.Module<Tensor, Tensor> Layer(ProbeVariant v, int inC, int outC, int stride)
    {
        switch (v.Block)
        {
            case ProbeBlock.MultiBranch:
            case ProbeBlock.MultiBranchFused:
                if (v.Activation != ActivationKind.ReLU) throw new MobileOneException("multi-branch probe blocks use ReLU, as MobileOne's do");
                return new MobileOneBlock(new MobileOneBlockSpec(inC, outC, 3, stride, 1, 1, false), inferenceMode: v.Block == ProbeBlock.MultiBranchFused);
            default:
                var conv = Layers.ConvNormActivation(inC, outC, 3, stride, activation: v.Activation);
                return v.Block switch
                {
                    ProbeBlock.Plain => conv,
                    ProbeBlock.Skip => new InvertedResidual("conv", conv, stride == 1 && inC == outC),
                    ProbeBlock.SqueezeExcite => Layers.Numbered(conv, new SqueezeExcitation(outC, Math.Max(8, outC / 4))),
                    _ => throw new MobileOneException($"unknown probe block {v.Block}"),
                };
        }
    }
}
