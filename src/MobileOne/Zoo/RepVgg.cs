using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// RepVGG-A0 (Ding et al. 2021): 22 blocks of 3x3 conv+BN, 1x1 conv+BN and a BN identity, folded into
/// one 3x3 convolution for inference (8.3M parameters, 1.4G MACs fused). A RepVGG block is a MobileOne
/// block with k = 1, a dense 3x3 kernel and no grouping, so it is built from <see cref="MobileOneBlock"/>
/// and folded by the same code. Names: <c>stage0</c>..<c>stage4</c>, <c>linear</c>, as in the paper's code.
/// </summary>
public static class RepVgg
{
    /// <summary>RepVGG-A0, train-time (multi-branch) or fused.</summary>
    public static ZooNetwork A0(bool fused = false, int numClasses = 1000)
    {
        const double a = 0.75, b = 2.5;
        int[] layers = [1, 2, 4, 14, 1];
        int[] widths = [Math.Min(64, (int)(64 * a)), (int)(64 * a), (int)(128 * a), (int)(256 * a), (int)(512 * b)];
        var body = new List<(string, nn.Module<Tensor, Tensor>)>();
        int c = 3;
        for (int s = 0; s < layers.Length; s++)
        {
            var blocks = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < layers[s]; i++)
            {
                blocks.Add(new MobileOneBlock(new MobileOneBlockSpec(c, widths[s], 3, i == 0 ? 2 : 1, 1, 1, false), inferenceMode: fused));
                c = widths[s];
            }
            body.Add(($"stage{s}", s == 0 ? blocks[0] : Layers.Numbered(blocks)));
        }
        return new ZooNetwork(fused ? "repvgg_a0_fused" : "repvgg_a0", body, [("linear", nn.Linear(c, numClasses))]);
    }

    /// <summary>Folds every block of a train-time RepVGG (in eval mode) into the fused network.</summary>
    public static ZooNetwork Fuse(ZooNetwork trainTime)
    {
        var fused = A0(fused: true, numClasses: (int)trainTime.NumClasses);
        fused.eval();
        using var noGrad = no_grad();
        var source = trainTime.modules().OfType<MobileOneBlock>().ToList();
        var target = fused.modules().OfType<MobileOneBlock>().ToList();
        for (int i = 0; i < source.Count; i++) Reparameterizer.CopyFused(source[i], target[i]);
        var head = trainTime.modules().OfType<TorchSharp.Modules.Linear>().Last();
        var fusedHead = fused.modules().OfType<TorchSharp.Modules.Linear>().Last();
        fusedHead.weight!.copy_(head.weight!);
        fusedHead.bias!.copy_(head.bias!);
        return fused;
    }
}
