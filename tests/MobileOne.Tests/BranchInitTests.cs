using MobileOne.Models;
using MobileOne.Reparameterization;
using MobileOne.Training;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>How a MobileOne trained from scratch starts its branches' BatchNorm scales.</summary>
public sealed class BranchInitTests
{
    // Blocks with and without a skip branch: stride-2 and channel-changing ones have none.
    private static readonly MobileOneConfig Config = new([1, 2, 2, 1], [0.25, 0.25, 0.25, 0.5], false, 3, 10);

    [Fact]
    public void IdentityZeroesTheBranchScalesOfExactlyTheBlocksWithASkip()
    {
        using var net = new MobileOneModel(Config);
        var blocks = net.modules().OfType<MobileOneBlock>().ToList();
        int changed = BranchInit.Apply(net, BranchInit.Identity);
        Assert.Equal(blocks.Count(b => b.Skip is not null), changed);
        Assert.InRange(changed, 1, blocks.Count - 1);
        foreach (var block in blocks)
        {
            float expected = block.Skip is null ? 1 : 0;
            Assert.All(block.ConvBranches!, b => Assert.Equal(expected, b.Bn.weight!.abs().max().item<float>()));
            Assert.Equal(expected, block.Scale?.Bn.weight!.abs().max().item<float>() ?? expected);
            if (block.Skip is { } skip) Assert.Equal(1f, skip.weight!.min().item<float>());
        }
    }

    [Fact]
    public void AnIdentityBlockStartsAsReluOfItsSkipBatchNorm()
    {
        using var net = new MobileOneModel(Config);
        BranchInit.Apply(net, BranchInit.Identity);
        net.train();
        var block = net.modules().OfType<MobileOneBlock>().First(b => b.Skip is not null);
        using var x = randn(4, block.Spec.InChannels, 8, 8, generator: new Generator(3));
        using var expected = nn.functional.relu(block.Skip!.call(x));
        using var actual = block.call(x);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6), "the block's output is not ReLU(BN(x))");
    }

    [Fact]
    public void OnesLeavesPyTorchsDefaultsAndTheFoldStaysExact()
    {
        using var scope = NewDisposeScope();
        using var net = new MobileOneModel(Config);
        var before = net.state_dict().Values.Select(t => t.clone()).ToList();
        Assert.Equal(0, BranchInit.Apply(net, BranchInit.Ones));
        Assert.All(net.state_dict().Values.Zip(before), p => Assert.True(p.First.allclose(p.Second, rtol: 0, atol: 0)));

        BranchInit.Apply(net, BranchInit.Identity);
        net.eval();
        using var fused = Reparameterizer.Fuse(net);
        using var x = randn(2, 3, 32, 32, generator: new Generator(5));
        Assert.True(net.call(x).allclose(fused.call(x), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void AnUnknownNameIsRefused()
    {
        using var net = new MobileOneModel(Config);
        Assert.Contains("unknown branch initialisation 'zero'", Assert.Throws<MobileOneException>(() => BranchInit.Apply(net, "zero")).Message);
        Assert.Contains("branch initialisation must be one of ones, identity",
            Assert.Throws<MobileOneException>(() => new TrainOptions { BranchInit = "zero" }.Validated()).Message);
    }
}
