using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The fused network computes the same function as the train-time one in eval mode.</summary>
public class ReparameterizationTests
{
    public static TheoryData<int[], double[], bool, int, int, int, int, int> RandomConfigurations => new()
    {
        // blocks, widths, SE, k, classes, batch, height, width
        { [1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 7, 1, 32, 32 },
        { [1, 2, 3, 1], [0.375, 0.5, 0.75, 1.0], true, 2, 5, 3, 37, 53 },
        { [2, 1, 2, 2], [0.5, 0.3, 0.4, 0.6], true, 3, 11, 2, 65, 31 },
        { [1, 1, 1, 1], [1.5, 0.25, 0.5, 0.5], false, 5, 3, 1, 1, 1 },
        { [1, 1, 2, 1], [0.2, 0.2, 0.5, 0.5], true, 4, 2, 2, 224, 160 },
    };

    [Theory]
    [MemberData(nameof(RandomConfigurations))]
    public void FusedEqualsUnfusedOnRandomConfigurationsAndOddSizes(int[] blocks, double[] widths, bool se, int k, int classes, int batch, int h, int w)
    {
        using var scope = NewDisposeScope();
        var config = new MobileOneConfig(blocks, widths, se, k, classes);
        var model = ModelFactory.Calibrated(config, seed: h * 31 + w);
        var fused = Reparameterizer.Fuse(model);
        var x = randn(batch, 3, h, w, generator: new Generator(7));
        using var noGrad = no_grad();
        var expected = model.forward(x);
        var actual = fused.forward(x);
        Assert.Equal([batch, classes], actual.shape);
        double scale = Math.Max(1, expected.abs().max().item<float>());
        TensorAssert.Close(expected, actual, 1e-5 * scale, config.ToString());
        // The fused model's parameters are the plain chain the paper describes: one conv per block.
        Assert.All(fused.Blocks(), b => Assert.True(b.Block.IsFused));
        Assert.DoesNotContain(fused.named_modules(), m => m.module is TorchSharp.Modules.BatchNorm2d);
    }

    [Theory]
    [InlineData(16, 16, 3, 1, 16, 3)]  // depthwise, stride 1: conv + scale + skip branches
    [InlineData(16, 16, 3, 2, 16, 2)]  // depthwise, stride 2: no skip
    [InlineData(16, 24, 1, 1, 1, 4)]   // pointwise, channels change: conv branches only
    [InlineData(24, 24, 1, 1, 1, 1)]   // pointwise with skip, no scale (kernel 1)
    [InlineData(12, 12, 3, 1, 3, 2)]   // grouped convolution, 4 channels per group: identity kernel at i mod 4
    public void EachBlockFusesExactly(int cin, int cout, int kernel, int stride, int groups, int k)
    {
        using var scope = NewDisposeScope();
        var block = ModelFactory.Calibrate(new MobileOneBlock(new MobileOneBlockSpec(cin, cout, kernel, stride, groups, k, UseSe: cout >= 16)), seed: k);
        block.eval();
        var fused = Reparameterizer.FuseBlock(block);
        var x = randn(2, cin, 19, 23, generator: new Generator(3));
        using var noGrad = no_grad();
        TensorAssert.Close(block.forward(x), fused.forward(x), 1e-5, $"block {cin}->{cout} k{kernel} s{stride} g{groups}");
    }

    [Fact]
    public void FusingAModelInTrainingModeWarnsAndUsesRunningStatistics()
    {
        using var scope = NewDisposeScope();
        var config = new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], false, 2, 4);
        var model = ModelFactory.Calibrated(config, seed: 5);
        model.train();
        var warnings = new List<string>();
        var fused = Reparameterizer.Fuse(model, warnings.Add);
        Assert.Single(warnings);
        Assert.Contains("training mode", warnings[0]);
        Assert.True(model.training, "fusing must not change the source model's mode");
        // The result is the eval-mode function, not the batch-statistics one.
        var x = randn(4, 3, 32, 32, generator: new Generator(1));
        using var noGrad = no_grad();
        model.eval();
        var evalOut = model.forward(x);
        TensorAssert.Close(evalOut, fused.forward(x), 1e-5, "fused vs eval");
        model.train();
        var trainOut = model.forward(x); // batch statistics (and it updates the running ones)
        model.eval();
        Assert.True(TensorAssert.MaxAbsDiff(trainOut, evalOut) > 1e-3, "train and eval outputs should differ with calibrated statistics");
        var evalWarnings = new List<string>();
        Reparameterizer.Fuse(model, evalWarnings.Add);
        Assert.Empty(evalWarnings);
    }

    [Fact]
    public void InferenceModeConstructionHasNoBranches()
    {
        using var scope = NewDisposeScope();
        var fused = new MobileOneModel(MobileOneVariants.S0(), inferenceMode: true);
        Assert.True(fused.IsFused);
        Assert.All(fused.Blocks(), b => Assert.Null(b.Block.ConvBranches));
        using var noGrad = no_grad();
        Assert.Equal([2, 1000], fused.forward(randn(2, 3, 97, 131)).shape);
        var features = fused.ForwardFeatures(randn(1, 3, 224, 224));
        Assert.Equal([112L, 56, 28, 14, 7], features.Select(f => f.shape[2]));
        Assert.Equal([48L, 48, 128, 256, 1024], features.Select(f => f.shape[1]));
    }
}
