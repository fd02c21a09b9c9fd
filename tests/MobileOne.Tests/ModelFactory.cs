using MobileOne.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Models with non-trivial BatchNorm statistics, so that fusing is actually exercised.</summary>
public static class ModelFactory
{
    /// <summary>Sets every BatchNorm's affine parameters and running statistics to seeded random values.</summary>
    public static T Calibrate<T>(T model, int seed) where T : nn.Module
    {
        var g = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (_, m) in model.named_modules())
        {
            if (m is not BatchNorm2d bn) continue;
            long c = bn.weight!.shape[0];
            bn.weight.copy_(rand(c, generator: g) * 1.5 + 0.25);
            bn.bias!.copy_(randn(c, generator: g) * 0.2);
            bn.running_mean!.copy_(randn(c, generator: g) * 0.2);
            bn.running_var!.copy_(rand(c, generator: g) * 1.5 + 0.25);
        }
        return model;
    }

    public static MobileOneModel Calibrated(MobileOneConfig config, int seed)
    {
        torch.manual_seed(seed);
        var model = Calibrate(new MobileOneModel(config), seed);
        model.eval();
        return model;
    }
}
