using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The stacked train-time branches compute what the branches compute one by one.</summary>
public class ConvBranchStackTests
{
    public static TheoryData<int, int, int, int, int, int> Blocks => new()
    {
        // in, out, kernel, stride, groups, k
        { 8, 16, 1, 1, 1, 4 },  // pointwise
        { 8, 8, 1, 1, 1, 3 },   // pointwise with skip
        { 3, 6, 3, 2, 1, 2 },   // stem (with the scale branch)
        { 8, 8, 3, 1, 8, 3 },   // depthwise: runs separately either way
    };

    [Theory]
    [MemberData(nameof(Blocks))]
    public void StackedBranchesMatchSeparateBranchesInOutputsGradientsAndRunningStatistics(int cin, int cout, int kernel, int stride, int groups, int k)
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var spec = new MobileOneBlockSpec(cin, cout, kernel, stride, groups, k, UseSe: false);
        var separate = new MobileOneBlock(spec) { StackBranches = false };
        using (no_grad())
        {
            // Non-trivial BatchNorm state, so a mixed-up channel order could not go unnoticed.
            foreach (var (name, p) in separate.named_parameters())
                if (name.Contains("bn")) p.uniform_(0.5, 1.5);
            foreach (var (name, b) in separate.named_buffers())
                if (name.EndsWith("running_mean")) b.normal_();
                else if (name.EndsWith("running_var")) b.uniform_(0.5, 2);
        }
        var stacked = new MobileOneBlock(spec);
        stacked.load_state_dict(separate.state_dict());
        separate.train();
        stacked.train();

        for (int step = 0; step < 2; step++)
        {
            var x = randn(4, cin, 10, 10);
            var upstream = randn(4, cout, spec.OutputSize(10), spec.OutputSize(10));
            var xa = x.clone().requires_grad_();
            var xb = x.clone().requires_grad_();
            var ya = separate.forward(xa);
            var yb = stacked.forward(xb);
            TensorAssert.Close(ya, yb, 1e-5, $"step {step} output");
            (ya * upstream).sum().backward();
            (yb * upstream).sum().backward();
            TensorAssert.Close(xa.grad!, xb.grad!, 1e-4, $"step {step} input gradient");
        }

        var stackedParams = stacked.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in separate.named_parameters())
        {
            var scale = Math.Max(1.0, p.grad!.abs().max().item<float>());
            TensorAssert.Close(p.grad!, stackedParams[name].grad!, 1e-4 * scale, $"gradient of {name}");
        }
        var stackedBuffers = stacked.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, b) in separate.named_buffers())
            TensorAssert.Close(b, stackedBuffers[name], 1e-5, name);
        Assert.Equal(2, stackedBuffers["rbr_conv.0.bn.num_batches_tracked"].item<long>());
    }

    [Fact]
    public void GroupedBlocksAreRefused()
    {
        var block = new MobileOneBlock(new MobileOneBlockSpec(4, 4, 3, 1, 4, 2, UseSe: false));
        var e = Assert.Throws<ArgumentException>(() => ConvBranchStack.TrainingSum(block.ConvBranches!, block.Spec, randn(1, 4, 4, 4)));
        Assert.Contains("4 groups", e.Message);
    }

    [Fact]
    public void EvaluationIgnoresTheStackAndLeavesRunningStatisticsAlone()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var block = new MobileOneBlock(new MobileOneBlockSpec(4, 4, 1, 1, 1, 3, UseSe: false));
        block.eval();
        var before = block.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
        block.forward(randn(2, 4, 6, 6));
        foreach (var (name, b) in block.named_buffers())
            Assert.True(TensorAssert.MaxAbsDiff(before[name], b) == 0, $"{name} changed in eval mode");
    }
}
