using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// Train-time speed for the k parallel conv+BN branches of an ungrouped <see cref="MobileOneBlock"/>: they
/// read the same input with kernels of the same shape, so their k convolutions are one convolution with k
/// times the output channels (one larger matrix product), and their k BatchNorms one BatchNorm over those
/// channels (BatchNorm is per channel); the k results are then summed. The parameters and running
/// statistics stay in the branches, under Apple's state-dict names: the kernels and affine terms are
/// stacked for each step (autograd takes the gradients back to each branch), and the updated running
/// statistics are written back.
/// </summary>
public static class ConvBranchStack
{
    /// <summary>
    /// The sum of the branches' outputs for <paramref name="x"/>, in training mode (batch statistics,
    /// running statistics updated as each branch's own BatchNorm would update them).
    /// </summary>
    public static Tensor TrainingSum(IList<ConvBn> branches, MobileOneBlockSpec spec, Tensor x)
    {
        if (spec.Groups != 1)
            throw new ArgumentException($"stacked branches need an ungrouped block, found {spec.Groups} groups", nameof(spec));
        int k = branches.Count;
        long outChannels = spec.OutChannels;
        var first = branches[0].Bn;
        using var scope = NewDisposeScope();
        // Stacked channels are ordered (branch, channel).
        Tensor Stack(Func<ConvBn, Tensor> pick) => cat(branches.Select(pick).ToArray(), 0);
        var y = nn.functional.conv2d(x, Stack(b => b.Conv.weight!), null, strides: [spec.Stride, spec.Stride], padding: [spec.Padding, spec.Padding], dilation: [spec.Dilation, spec.Dilation]);

        Tensor runningMean, runningVar;
        using (no_grad())
        {
            runningMean = Stack(b => b.Bn.running_mean!);
            runningVar = Stack(b => b.Bn.running_var!);
            foreach (var b in branches) b.Bn.num_batches_tracked?.add_(Scalars.One);
        }
        double momentum = first.momentum is double m && m != 0 ? m
            : 1.0 / (first.num_batches_tracked?.item<long>() ?? 1); // momentum 0: cumulative average, as BatchNorm does
        y = nn.functional.batch_norm(y, runningMean, runningVar, Stack(b => b.Bn.weight!), Stack(b => b.Bn.bias!),
            training: true, momentum: momentum, eps: first.eps);

        using (no_grad())
        {
            var means = runningMean.view(k, outChannels);
            var vars = runningVar.view(k, outChannels);
            for (int i = 0; i < k; i++)
            {
                branches[i].Bn.running_mean!.copy_(means[i]);
                branches[i].Bn.running_var!.copy_(vars[i]);
            }
        }
        var shape = y.shape;
        return y.view(shape[0], k, outChannels, shape[2], shape[3]).sum(1).MoveToOuterDisposeScope();
    }
}
