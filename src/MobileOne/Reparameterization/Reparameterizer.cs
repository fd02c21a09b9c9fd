using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Reparameterization;

/// <summary>
/// Folds a train-time MobileOne into its inference form: a plain chain of convolutions with bias and
/// ReLU (plus SE in S4), computing the same function as the train-time network in eval mode.
/// </summary>
public static class Reparameterizer
{
    /// <summary>
    /// Returns a new fused network equivalent to <paramref name="model"/> in eval mode; the input model is
    /// left untouched. BatchNorm always folds with its running statistics: when the model is in training
    /// mode (where BatchNorm would use batch statistics instead) <paramref name="warn"/> is told so,
    /// because that mismatch is the usual reason a fused MobileOne disagrees with the trained one.
    /// </summary>
    public static MobileOneModel Fuse(MobileOneModel model, Action<string>? warn = null)
    {
        if (model.training)
            warn?.Invoke("the model is in training mode; fusing uses the BatchNorm running statistics " +
                         "(eval-mode behaviour), not batch statistics. Call eval() first to make this explicit.");
        var fused = new MobileOneModel(model.Config, inferenceMode: true);
        fused.eval();
        using var noGrad = no_grad();
        foreach (var ((_, source), (_, target)) in model.Blocks().Zip(fused.Blocks()))
            CopyFused(source, target);
        Copy(model.Linear.weight!, fused.Linear.weight!);
        Copy(model.Linear.bias!, fused.Linear.bias!);
        return fused;
    }

    /// <summary>Returns a new block in inference form equivalent to <paramref name="block"/> in eval mode.</summary>
    public static MobileOneBlock FuseBlock(MobileOneBlock block)
    {
        var fused = new MobileOneBlock(block.Spec, inferenceMode: true);
        fused.eval();
        using var noGrad = no_grad();
        CopyFused(block, fused);
        return fused;
    }

    /// <summary>Writes the fold of <paramref name="source"/> (eval mode) into an existing fused block of the same spec.</summary>
    internal static void CopyFused(MobileOneBlock source, MobileOneBlock target)
    {
        var (kernel, bias) = BranchFusion.FuseBlock(source);
        using (kernel) Copy(kernel, target.ReparamConv!.weight!);
        using (bias) Copy(bias, target.ReparamConv!.bias!);
        if (source.Se is not null)
        {
            Copy(source.Se.Reduce.weight!, target.Se!.Reduce.weight!);
            Copy(source.Se.Reduce.bias!, target.Se.Reduce.bias!);
            Copy(source.Se.Expand.weight!, target.Se.Expand.weight!);
            Copy(source.Se.Expand.bias!, target.Se.Expand.bias!);
        }
    }

    private static void Copy(Tensor from, Tensor to)
    {
        using var converted = from.detach().to(to.dtype);
        to.copy_(converted);
    }
}
