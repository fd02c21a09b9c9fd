using MobileOne.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Models with non-trivial BatchNorm statistics, so that fusing is actually exercised.</summary>
public static class ModelFactory
{
    /// <summary>
    /// Gives every BatchNorm seeded random affine parameters, then running statistics measured on a
    /// random batch (as training would leave them), so activations keep a sane scale through deep nets.
    /// </summary>
    public static T Calibrate<T>(T model, int seed, int size = 64, int batch = 2) where T : nn.Module<Tensor, Tensor>
    {
        var g = new Generator((ulong)seed);
        var norms = model.named_modules().Select(m => m.module).OfType<BatchNorm2d>().ToList();
        using (no_grad())
        {
            // Construction draws from LibTorch's global generator, which parallel tests share.
            WeightInit.Reset(model, seed);
            foreach (var bn in norms)
            {
                long c = bn.weight!.shape[0];
                bn.weight.copy_(rand(c, generator: g) * 1.0 + 0.5);
                bn.bias!.copy_(randn(c, generator: g) * 0.2);
                bn.momentum = 1.0;
            }
            model.train();
            using var x = randn(batch, InputChannels(model), size, size, generator: g);
            using var _ = model.forward(x);
            foreach (var bn in norms)
            {
                bn.momentum = 0.1;
                // A channel that was (nearly) constant on the batch, e.g. dead after a ReLU, would amplify any
                // other input hugely; trained networks do not have such statistics.
                bn.running_var!.clamp_(min: 0.05);
            }
            model.eval();
        }
        return model;
    }

    private static long InputChannels(nn.Module model) => model switch
    {
        MobileOneBlock b => b.Spec.InChannels,
        MobileOneModel m => m.Config.InChannels,
        _ => 3,
    };

    /// <summary>A model with seeded weights and statistics calibrated on random inputs of the given size.</summary>
    public static MobileOneModel Calibrated(MobileOneConfig config, int seed, int size = 64)
    {
        var model = Calibrate(new MobileOneModel(config), seed, size);
        model.eval();
        return model;
    }
}
