using System.Text.Json;
using MobileOne.Checkpoints;
using MobileOne.Models;
using TorchSharp;

namespace MobileOne.Tests;

/// <summary>Key names, shapes, parameter and MAC counts of S0-S4 against the reference manifests.</summary>
public class ManifestTests
{
    public static TheoryData<string> Variants => new(MobileOneVariants.Names);

    private static List<(string Key, long[] Shape)> Entries(JsonElement list) =>
        list.EnumerateArray().Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())).ToList();

    private static void AssertSameEntries(List<(string Key, long[] Shape)> expected, StateDict actual, string what)
    {
        Assert.Equal(expected.Select(e => e.Key), actual.Keys);
        foreach (var (key, shape) in expected)
            Assert.True(shape.SequenceEqual(actual[key].Shape), $"{what}: {key} expected {CheckpointTensor.FormatShape(shape)}, found {CheckpointTensor.FormatShape(actual[key].Shape)}");
    }

    [SkippableTheory]
    [MemberData(nameof(Variants))]
    public void StateDictKeysAndShapesMatchAppleAndTimmInOrder(string variant)
    {
        Fixtures.Require();
        var apple = Fixtures.Json("variants_manifest.json").GetProperty(variant);
        var timm = Fixtures.Json("timm_variants_manifest.json").GetProperty(variant);
        var config = MobileOneVariants.Get(variant);
        foreach (var fused in new[] { false, true })
        {
            using var model = new MobileOneModel(config, inferenceMode: fused);
            var state = MobileOneCheckpoint.ToStateDict(model);
            var field = fused ? "fused_state_dict" : "unfused_state_dict";
            AssertSameEntries(Entries(apple.GetProperty(field)), state, $"{variant} apple {field}");
            var dtypes = apple.GetProperty(field).EnumerateArray().Select(e => e[2].GetString()).ToList();
            Assert.Equal(dtypes, state.Values.Select(t => t.DType.DisplayName()));
            AssertSameEntries(Entries(timm.GetProperty(field)), LayoutConverter.FromApple(state, CheckpointLayout.Timm), $"{variant} timm {field}");
            // And back: timm names map to exactly Apple's.
            Assert.Equal(state.Keys, LayoutConverter.ToApple(LayoutConverter.FromApple(state, CheckpointLayout.Timm), CheckpointLayout.Timm).Keys);
            Assert.Equal(state.Keys, LayoutConverter.ToApple(LayoutConverter.FromApple(state, CheckpointLayout.MMPretrain), CheckpointLayout.MMPretrain).Keys);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Variants))]
    public void ParameterAndMacCountsEqualTheReference(string variant)
    {
        Fixtures.Require();
        var m = Fixtures.Json("variants_manifest.json").GetProperty(variant);
        var profile = ModelProfile.Compute(MobileOneVariants.Get(variant));
        Assert.Equal(m.GetProperty("params_unfused").GetInt64(), profile.ParamsUnfused);
        Assert.Equal(m.GetProperty("params_fused").GetInt64(), profile.ParamsFused);
        Assert.Equal(m.GetProperty("macs_fused_224").GetInt64(), profile.MacsFused);
        Assert.Equal(m.GetProperty("macs_unfused_224").GetInt64(), profile.MacsUnfused);
        // The analytic counts agree with the modules actually built.
        using var unfused = new MobileOneModel(MobileOneVariants.Get(variant));
        using var fused = new MobileOneModel(MobileOneVariants.Get(variant), inferenceMode: true);
        Assert.Equal(profile.ParamsUnfused, unfused.parameters().Sum(p => p.numel()));
        Assert.Equal(profile.ParamsFused, fused.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void NamedVariantsFollowThePaper()
    {
        Assert.Equal(4, MobileOneVariants.S0().NumConvBranches);
        Assert.True(MobileOneVariants.S4().UseSe);
        Assert.Equal(5, MobileOneVariants.S4().SeBlocksInStage(2));
        Assert.Equal(1, MobileOneVariants.S4().SeBlocksInStage(3));
        Assert.Equal(48, MobileOneVariants.S0().StemChannels);
        Assert.Equal(64, MobileOneVariants.S4().StemChannels);
        Assert.Equal([192, 448, 896, 2048], Enumerable.Range(0, 4).Select(MobileOneVariants.S4().StageChannels));
        // 12 SE modules in S4: depthwise and pointwise block of 5 + 1 pairs.
        using var s4 = new MobileOneModel(MobileOneVariants.S4(), inferenceMode: true);
        Assert.Equal(12, s4.Blocks().Count(b => b.Block.Se is not null));
    }
}
