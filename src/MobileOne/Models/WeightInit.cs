using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// Seeded initialisation with PyTorch's default distribution for convolutions and linear layers
/// (uniform in +-1/sqrt(fan_in) for weights and biases, which is what kaiming_uniform with a = sqrt(5)
/// gives), drawn from a private generator: the result depends on the seed only, not on what other
/// threads take from LibTorch's global generator. BatchNorm keeps weight 1 and bias 0.
/// </summary>
public static class WeightInit
{
    /// <summary>Re-draws every conv and linear parameter of <paramref name="model"/> from <paramref name="seed"/>.</summary>
    public static void Reset(nn.Module model, long seed)
    {
        var g = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (_, m) in model.named_modules())
        {
            if (m is not (TorchSharp.Modules.Conv2d or TorchSharp.Modules.Linear)) continue;
            var parameters = m.named_parameters(recurse: false).ToList();
            var weight = parameters.Single(p => p.name == "weight").parameter;
            double bound = 1.0 / Math.Sqrt(weight.numel() / weight.shape[0]);
            foreach (var (_, p) in parameters)
            {
                using var r = rand(p.shape, generator: g);
                p.copy_((r * 2 - 1) * bound);
            }
        }
    }
}
