using MobileOne.Data;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

public sealed class ConfigAndNpyTests : FileTest
{
    [SkippableFact]
    public void FixtureConfigsParse()
    {
        Fixtures.Require();
        var tiny = MobileOneConfig.FromJsonFile(Fixtures.MobileOne("tiny_se.json"));
        Assert.Equal(new MobileOneConfig([1, 2, 2, 1], [0.25, 0.25, 0.5, 0.5], true, 3, 10), tiny);
        Assert.Equal(MobileOneVariants.S0(), MobileOneConfig.FromJsonFile(Fixtures.MobileOne("mobileone_s0.json")));
    }

    [Fact]
    public void ConfigJsonRoundTrips()
    {
        var c = new MobileOneConfig([1, 3, 2, 1], [0.5, 0.75, 1.25, 2], true, 2, 17);
        Assert.Equal(c, MobileOneConfig.FromJson(c.ToJson()));
    }

    [Fact]
    public void InputChannelsStridesAndAblationBranchesRoundTripAndShapeTheNetwork()
    {
        var c = MobileOneConfig.FromJson("{\"variant\": \"s0\", \"num_classes\": 10, \"in_channels\": 1, \"strides\": [1, 2, 2, 2, 1], \"use_skip_branch\": false}");
        Assert.Equal(1, c.InChannels);
        Assert.Equal(8, c.OutputStride);
        Assert.False(c.UseSkipBranch);
        Assert.True(c.UseScaleBranch);
        Assert.Equal(c, MobileOneConfig.FromJson(c.ToJson()));
        Assert.Null(MobileOneVariants.NameOf(c));
        var profile = ModelProfile.Compute(c, 28, 28);
        Assert.Equal([28, 14, 7, 4, 4], profile.Stages.Select(s => s.OutputHeight));
        using var model = new MobileOneModel(c);
        Assert.DoesNotContain(model.Blocks(), b => b.Block.Skip is not null);
        Assert.Equal(profile.ParamsUnfused, model.parameters().Sum(p => p.numel()));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.Equal([2L, 10], model.forward(randn(2, 1, 28, 28)).shape);
        Assert.Contains("strides must be 5 values", Assert.Throws<MobileOneException>(() => MobileOneConfig.FromJson("{\"variant\": \"s0\", \"strides\": [1, 2]}")).Message);
    }

    [Theory]
    [InlineData("{\"variant\": \"s7\"}", "unknown variant 's7'")]
    [InlineData("{\"variant\": \"s0\", \"width_multipliers\": [1, 1, 1, 1]}", "either 'variant' or 'width_multipliers'")]
    [InlineData("{\"width_multipliers\": [1, 1, 1, 1], \"num_conv_branches\": 0}", "num_conv_branches must be between 1 and 64, found 0")]
    [InlineData("{\"width_multipliers\": [1, 1, 0.001, 1]}", "width_multipliers[2]")]
    [InlineData("{\"width_multipliers\": [1, 1, 0.05, 1], \"use_se\": true}", "use_se needs at least 16 channels in stage 3")]
    [InlineData("{\"width_multipliers\": [1, 1, 1, 1], \"num_blocks_per_stage\": [2, 8, 0, 1]}", "num_blocks_per_stage[2] must be between 1 and 128")]
    [InlineData("[1, 2]", "expected a JSON object")]
    public void InvalidConfigsAreExplained(string json, string fragment) =>
        Assert.Contains(fragment, Assert.ThrowsAny<MobileOneException>(() => MobileOneConfig.FromJson(json)).Message);

    [Fact]
    public void NpyRoundTripsAndRejectsBadFiles()
    {
        var path = Dir.File("a.npy");
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 5, 7);
        NpyFile.Write(path, x);
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(x, NpyFile.Read(path)));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        Assert.Contains("truncated", Assert.Throws<MobileOneException>(() => NpyFile.Read(path)).Message);
        File.WriteAllBytes(path, bytes.Select((b, i) => i == 0 ? (byte)0 : b).ToArray());
        Assert.Contains("not a .npy file", Assert.Throws<MobileOneException>(() => NpyFile.Read(path)).Message);
    }

    [SkippableFact]
    public void NpyReadsNumpyWrittenFixtures()
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        Assert.Equal([2L, 3, 224, 224], NpyFile.Read(Fixtures.MobileOne("mobileone_s0_input.npy")).shape);
        Assert.Equal([4L, 10], NpyFile.Read(Fixtures.MobileOne("tiny_se_logits.npy")).shape);
    }
}
