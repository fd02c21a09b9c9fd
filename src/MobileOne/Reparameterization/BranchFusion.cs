using MobileOne.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Reparameterization;

/// <summary>
/// The algebra of structural reparameterisation (paper, Section 3.2): every train-time branch of a
/// <see cref="MobileOneBlock"/> is a linear map followed by an affine BatchNorm, so each folds into a
/// kernel and a bias, and the sum of branches into one convolution. Computed in float64 and rounded
/// once, so the fused block differs from the branches by float32 rounding of the forward pass only.
/// </summary>
public static class BranchFusion
{
    /// <summary>
    /// Folds BatchNorm (running statistics, i.e. eval mode) into the preceding bias-free kernel:
    /// W' = W * gamma / sigma, b' = beta - mean * gamma / sigma, sigma = sqrt(var + eps).
    /// </summary>
    public static (Tensor Kernel, Tensor Bias) FoldBatchNorm(Tensor kernel, BatchNorm2d bn)
    {
        using var scope = NewDisposeScope();
        var gamma = bn.weight!.detach().to(float64);
        var beta = bn.bias!.detach().to(float64);
        var mean = bn.running_mean!.to(float64);
        // An explicit scalar, alive until the end: TorchSharp's implicit one can be finalised while the native add
        // still reads it (seen as "Expected false to be true" from Scalar::toDouble under a busy GC).
        using var eps = bn.eps.ToScalar();
        var std = bn.running_var!.to(float64).add(eps, Scalars.One).sqrt();
        var t = gamma / std;
        var w = kernel.detach().to(float64) * t.reshape(-1, 1, 1, 1);
        var b = beta - mean * t;
        return (w.MoveToOuterDisposeScope(), b.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The kernel of the identity map as a (grouped) kxk convolution: 1 at [i, i mod (C/g), k/2, k/2].
    /// </summary>
    public static Tensor IdentityKernel(int channels, int groups, int kernelSize)
    {
        int perGroup = channels / groups;
        var k = zeros(channels, perGroup, kernelSize, kernelSize, dtype: float64);
        for (int i = 0; i < channels; i++)
            k[i, i % perGroup, kernelSize / 2, kernelSize / 2] = tensor(1.0, float64);
        return k;
    }

    /// <summary>
    /// The single kernel and bias (float64) equivalent to all branches of a train-time block:
    /// the k conv+BN branches, the 1x1 scale branch zero-padded to kxk, and the BN skip branch as an
    /// identity kernel.
    /// </summary>
    public static (Tensor Kernel, Tensor Bias) FuseBlock(MobileOneBlock block)
    {
        if (block.IsFused)
        {
            var conv = block.ReparamConv!;
            return (conv.weight!.detach().to(float64), conv.bias!.detach().to(float64));
        }
        using var scope = NewDisposeScope();
        var spec = block.Spec;
        Tensor kernel = zeros(spec.OutChannels, spec.InChannels / spec.Groups, spec.KernelSize, spec.KernelSize, dtype: float64);
        Tensor bias = zeros(spec.OutChannels, dtype: float64);
        foreach (var branch in block.ConvBranches!)
        {
            var (w, b) = FoldBatchNorm(branch.Conv.weight!, branch.Bn);
            kernel += w;
            bias += b;
        }
        if (block.Scale is not null)
        {
            var (w, b) = FoldBatchNorm(block.Scale.Conv.weight!, block.Scale.Bn);
            long pad = spec.KernelSize / 2;
            kernel += nn.functional.pad(w, [pad, pad, pad, pad]);
            bias += b;
        }
        if (block.Skip is not null)
        {
            var (w, b) = FoldBatchNorm(IdentityKernel(spec.InChannels, spec.Groups, spec.KernelSize), block.Skip);
            kernel += w;
            bias += b;
        }
        return (kernel.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }
}
