using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>One inference pass on a zero image, for what only a forward pass reveals (hooked counts, feature-map sizes).</summary>
internal static class ForwardPass
{
    /// <summary>Runs <paramref name="model"/> in eval mode without autograd on zeros of [1, C, H, W]; restores train mode even on failure.</summary>
    public static void OnZeros(nn.Module<Tensor, Tensor> model, long channels, long height, long width)
    {
        using var evalMode = new EvalMode(model);
        using var noGrad = no_grad();
        using var x = zeros(1, channels, height, width);
        using var y = model.call(x);
    }
}
