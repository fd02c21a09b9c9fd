using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// MobileViT-XS (Mehta and Rastegari 2022, Table 4; 2.3M parameters): MobileNetV2 blocks (expansion 4,
/// SiLU) with MobileViT blocks of width 96, 120, 144 and depth 2, 4, 3 at strides 8, 16, 32. The
/// paper's example of a small attention model whose latency on a phone is far above what its FLOPs suggest.
/// Names follow Apple's cvnets (<c>conv_1</c>, <c>layer_1</c>..<c>layer_5</c>, <c>conv_1x1_exp</c>, <c>classifier</c>).
/// </summary>
public static class MobileVit
{
    /// <summary>MobileViT-XS.</summary>
    public static ZooNetwork XS(int numClasses = 1000)
    {
        static nn.Module<Tensor, Tensor> Mv2(int inC, int outC, int stride)
        {
            int hidden = inC * 4;
            var body = Layers.Numbered(
                Layers.ConvNormActivation(inC, hidden, 1, activation: ActivationKind.SiLU),
                Layers.ConvNormActivation(hidden, hidden, 3, stride, groups: hidden, activation: ActivationKind.SiLU),
                Layers.ConvNormActivation(hidden, outC, 1, activation: ActivationKind.None));
            return new InvertedResidual("block", body, stride == 1 && inC == outC);
        }
        return new ZooNetwork("mobilevit_xs",
        [
            ("conv_1", Layers.ConvNormActivation(3, 16, 3, 2, activation: ActivationKind.SiLU)),
            ("layer_1", Layers.Numbered(Mv2(16, 32, 1))),
            ("layer_2", Layers.Numbered(Mv2(32, 48, 2), Mv2(48, 48, 1), Mv2(48, 48, 1))),
            ("layer_3", Layers.Numbered(Mv2(48, 64, 2), new MobileVitBlock(64, 96, 2, 192))),
            ("layer_4", Layers.Numbered(Mv2(64, 80, 2), new MobileVitBlock(80, 120, 4, 240))),
            ("layer_5", Layers.Numbered(Mv2(80, 96, 2), new MobileVitBlock(96, 144, 3, 288))),
            ("conv_1x1_exp", Layers.ConvNormActivation(96, 384, 1, activation: ActivationKind.SiLU)),
        ],
        [("classifier", nn.Linear(384, numClasses))]);
    }
}
