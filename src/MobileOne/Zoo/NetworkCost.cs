using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// Parameters and multiply-accumulates of any network, measured on one forward pass of one image: every
/// Conv2d adds (output elements) x (input channels per group x kernel area), every Linear (output
/// elements) x (input features), and self-attention its two matrix products; BatchNorm, activations,
/// pooling and additions are not counted. This is the convention of the MobileOne paper's and
/// torchvision's MAC figures.
/// </summary>
public static class NetworkCost
{
    /// <summary>Counts of one network at one input size.</summary>
    /// <param name="Params">Trainable parameters (BatchNorm affine included, running statistics not).</param>
    /// <param name="Macs">Multiply-accumulates of one image.</param>
    public sealed record Counts(long Params, long Macs);

    // Hooks run when a module is invoked through call(), which is why the networks call their children that way.
    /// <summary>Measures <paramref name="network"/> on one 3-channel (or <paramref name="channels"/>) image of the given size.</summary>
    public static Counts Measure(nn.Module<Tensor, Tensor> network, int height = 224, int width = 224, int channels = 3)
    {
        long macs = 0;
        var removers = new List<Action>();
        foreach (var m in network.modules())
        {
            if (m is Conv2d conv)
                removers.Add(conv.register_forward_hook((_, _, y) =>
                {
                    macs += y.numel() * (conv.in_channels / conv.groups) * conv.kernel_size.Aggregate(1L, (a, k) => a * k);
                    return y;
                }).remove);
            else if (m is Linear linear)
                removers.Add(linear.register_forward_hook((_, _, y) =>
                {
                    macs += y.numel() * linear.in_features;
                    return y;
                }).remove);
            else if (m is SelfAttention attention)
                removers.Add(attention.register_forward_hook((_, x, y) =>
                {
                    // Q K^T and attention x V: N x N x d each, per sequence.
                    macs += 2 * x.shape[0] * x.shape[1] * x.shape[1] * attention.Dim;
                    return y;
                }).remove);
        }
        try
        {
            Models.ForwardPass.OnZeros(network, channels, height, width);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        long parameters = network.parameters().Sum(p => p.numel());
        return new Counts(parameters, macs);
    }
}
