using System.Text.Json;
using MobileOne.Checkpoints;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary><c>mobileone convert</c>: layouts rewritten without folding, against timm's key manifest, and back unchanged.</summary>
public sealed class ConvertTests : FileTest
{
    private static string Unfused => Fixtures.MobileOne("mobileone_s0_unfused.pth.tar");

    private static List<(string Key, long[] Shape)> TimmManifest(string field) =>
        Fixtures.Json("timm_variants_manifest.json").GetProperty("s0").GetProperty(field).EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())).ToList();

    /// <summary>Same keys in the same order, and each tensor the same bytes, dtype and shape.</summary>
    private static void AssertSameTensors(StateDict expected, StateDict actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, tensor) in expected)
        {
            Assert.Equal(tensor.DType, actual[key].DType);
            Assert.Equal(tensor.Shape, actual[key].Shape);
            Assert.True(tensor.Data.AsSpan().SequenceEqual(actual[key].Data), $"{key}: the values differ");
        }
    }

    [SkippableFact]
    public void TheUnfusedFixtureBecomesTimmsTrainTimeStateDictKeyByKey()
    {
        Fixtures.Require();
        var timm = Dir.File("s0_timm.pth");
        var r = Run("convert", "--checkpoint", Unfused, "--layout", "timm", "--output", timm);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("MobileOne-S0, train-time, apple layout -> timm layout, 1323 tensors, pth", r.Out);
        var written = CheckpointFile.Read(timm);
        var manifest = TimmManifest("unfused_state_dict");
        Assert.Equal(manifest.Select(e => e.Key), written.Keys);
        foreach (var (key, shape) in manifest)
            Assert.True(shape.SequenceEqual(written[key].Shape), $"{key}: expected {CheckpointTensor.FormatShape(shape)}, found {CheckpointTensor.FormatShape(written[key].Shape)}");
        // Not folded: the four kxk branches of the first depthwise block are all there.
        Assert.Contains("stages.0.0.conv_kxk.3.conv.weight", written.Keys);
        Assert.DoesNotContain(written.Keys, k => k.Contains("reparam"));
    }

    [SkippableFact]
    public void TimmBackToAppleGivesTheOriginalTensorsInEveryFormat()
    {
        Fixtures.Require();
        var original = CheckpointFile.Read(Unfused);
        foreach (var (layout, file) in new[] { ("timm", "s0_timm.safetensors"), ("mmpretrain", "s0_mm.pth") })
        {
            var converted = Dir.File(file);
            Assert.Equal(0, Run("convert", "--checkpoint", Unfused, "--layout", layout, "--output", converted).Code);
            Assert.Equal(file.EndsWith(".safetensors") ? CheckpointFormat.Safetensors : CheckpointFormat.Pth, CheckpointFile.Detect(converted));
            var back = Dir.File($"back_{layout}.pth.tar");
            var r = Run("convert", "--checkpoint", converted, "--layout", "apple", "--output", back);
            Assert.True(r.Code == 0, r.Err);
            Assert.Contains($"{layout} layout -> apple layout", r.Out);
            AssertSameTensors(original, CheckpointFile.Read(back));
        }
    }

    [SkippableFact]
    public void AFusedCheckpointStaysFusedInTimmsInferenceLayout()
    {
        Fixtures.Require();
        var timm = Dir.File("s0_fused_timm.pth");
        var result = LayoutConversion.Convert(Fixtures.MobileOne("mobileone_s0.pth.tar"), CheckpointLayout.Timm, timm, CheckpointFormat.Pth);
        Assert.True(result.Fused);
        Assert.Equal("s0", result.Variant);
        Assert.Equal(CheckpointLayout.Apple, result.From);
        Assert.Equal(TimmManifest("fused_state_dict").Select(e => e.Key), CheckpointFile.Read(timm).Keys);
    }

    [SkippableFact]
    public void ACheckpointThatDoesNotFitItsNetworkIsRefusedAndNothingIsWritten()
    {
        Fixtures.Require();
        var state = CheckpointFile.Read(Fixtures.MobileOne("tiny_se_unfused.pth.tar"));
        state.Add("stage2.0.extra.weight", state["linear.bias"]);
        var bad = Dir.File("extra.pth");
        CheckpointFile.Write(bad, state, CheckpointFormat.Pth);
        var output = Dir.File("out.pth");
        AssertCleanError(Run("convert", "--checkpoint", bad, "--layout", "timm", "--output", output), 1, "unexpected keys (1): stage2.0.extra.weight");
        Assert.False(File.Exists(output));
        AssertCleanError(Run("convert", "--checkpoint", Unfused, "--output", output), 2, "--layout");
        AssertCleanError(Run("convert", "--checkpoint", Unfused, "--layout", "keras", "--output", output), 2, "keras");
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(Dir.Path), p => !p.EndsWith("extra.pth"));
    }
}
