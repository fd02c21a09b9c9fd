using System.Text.Json;
using MobileOne.Cli;
using MobileOne.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The <c>mobileone</c> verbs, run in-process with captured output.</summary>
public sealed class CliTests : FileTest
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>
    /// A task's <paramref name="verb"/> train, stopped after <paramref name="stopAt"/> steps and resumed, ends with the weights
    /// of an uninterrupted run, bit for bit. <paramref name="train"/> starts a run in a folder with more arguments.
    /// </summary>
    internal static void AssertResumeIsExact(string verb, Func<string, string[], (int Code, string Out, string Err)> train, string straight, string broken, int stopAt)
    {
        var whole = train(straight, []);
        Assert.True(whole.Code == 0, whole.Err);
        var stopped = train(broken, ["--max-steps", stopAt.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(stopped.Code == 0, stopped.Err);
        var resumed = Run(verb, "train", "--resume", broken);
        Assert.True(resumed.Code == 0, resumed.Err);
        var a = Checkpoints.CheckpointFile.Read(Path.Combine(straight, "last.pth.tar"));
        var b = Checkpoints.CheckpointFile.Read(Path.Combine(broken, "last.pth.tar"));
        Assert.Equal(a.Keys, b.Keys);
        foreach (var key in a.Keys)
        {
            using var x = a[key].ToTorch();
            using var y = b[key].ToTorch();
            Assert.True(x.equal(y).all().item<bool>(), key);
        }
    }

    /// <summary>
    /// A task's <paramref name="verb"/> eval and predict refuse, in one line, a damaged checkpoint (its configuration beside it)
    /// and a checkpoint without its configuration, naming the <paramref name="model"/> ("detector").
    /// </summary>
    internal static void AssertBadCheckpointsAreOneLine(TempDir dir, string verb, string model, string run, string data)
    {
        var bad = dir.File("bad.pth.tar");
        File.WriteAllBytes(bad, [1, 2, 3, 4]);
        File.Copy(Path.Combine(run, "model_config.json"), dir.File("model_config.json"));
        AssertCleanError(Run(verb, "eval", "--checkpoint", bad, "--data", data), 1, "bad.pth.tar");
        var alone = dir.File("alone");
        Directory.CreateDirectory(alone);
        File.Copy(Path.Combine(run, "best.pth.tar"), Path.Combine(alone, "best.pth.tar"));
        AssertCleanError(Run(verb, "predict", "--checkpoint", Path.Combine(alone, "best.pth.tar"), "--image", bad), 1, $"no {model} configuration");
    }

    internal static void AssertCleanError((int Code, string Out, string Err) r, int code, string fragment)
    {
        Assert.Equal(code, r.Code);
        Assert.Contains(fragment, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    [SkippableTheory]
    [InlineData("s0")]
    [InlineData("s1")]
    [InlineData("s2")]
    [InlineData("s3")]
    [InlineData("s4")]
    public void InfoJsonEqualsTheManifest(string variant)
    {
        Fixtures.Require();
        var r = Run("info", "--variant", variant, "--json");
        Assert.Equal(0, r.Code);
        var json = JsonDocument.Parse(r.Out).RootElement;
        var m = Fixtures.Json("variants_manifest.json").GetProperty(variant);
        Assert.Equal(m.GetProperty("params_unfused").GetInt64(), json.GetProperty("params_unfused").GetInt64());
        Assert.Equal(m.GetProperty("params_fused").GetInt64(), json.GetProperty("params_fused").GetInt64());
        Assert.Equal(m.GetProperty("macs_fused_224").GetInt64(), json.GetProperty("macs_fused").GetInt64());
        Assert.Equal(variant, json.GetProperty("variant").GetString());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task TheRootScriptPassesTheOneLineErrorThrough()
    {
        // ./mobileone holds a lock over its build check; closing it once redirected stderr for good, and every error went unseen.
        var start = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(Fixtures.RepoRoot, "mobileone"), "bench", "--onnx", Dir.File("missing.onnx")])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var lines = (await err).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(process.ExitCode == 1, output + string.Join('\n', lines));
        Assert.Equal($"error: ONNX file not found: {Dir.File("missing.onnx")}", lines.LastOrDefault());
    }

    [Fact]
    public void InfoTableShowsStagesAtTheRequestedSize()
    {
        var r = Run("info", "--variant", "s0", "--input-size", "257x193");
        Assert.Equal(0, r.Code);
        Assert.Contains("2,078,504", r.Out);
        Assert.Contains("9x7", r.Out); // stage 4 at 257x193: ceil(257/32) x ceil(193/32)
        Assert.Contains("stage3", r.Out);
    }

    [SkippableFact]
    public void InfoReadsAFixtureConfig()
    {
        Fixtures.Require();
        var r = Run("info", "--config", Fixtures.MobileOne("tiny_se.json"), "--json");
        Assert.Equal(0, r.Code);
        Assert.Equal(77186, JsonDocument.Parse(r.Out).RootElement.GetProperty("params_fused").GetInt64());
        Assert.Equal(200146, JsonDocument.Parse(r.Out).RootElement.GetProperty("params_unfused").GetInt64());
    }

    [SkippableTheory]
    [InlineData("mobileone_s0_unfused.pth.tar", "mobileone_s0_logits.npy", false)]
    [InlineData("mobileone_s0.pth.tar", "mobileone_s0_fused_logits.npy", false)]
    [InlineData("tiny_se_unfused.pth.tar", "tiny_se_logits.npy", true)]
    public void ForwardWritesTheReferenceLogits(string checkpoint, string logits, bool withConfig)
    {
        Fixtures.Require();
        var name = checkpoint.StartsWith("tiny") ? "tiny_se" : "mobileone_s0";
        var output = Dir.File("logits.npy");
        string[] args = ["forward", "--checkpoint", Fixtures.MobileOne(checkpoint), "--input", Fixtures.MobileOne($"{name}_input.npy"), "--output", output];
        if (withConfig) args = [.. args, "--config", Fixtures.MobileOne($"{name}.json")];
        var r = Run(args);
        Assert.True(r.Code == 0, r.Err);
        using var scope = NewDisposeScope();
        TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne(logits)), NpyFile.Read(output), 1e-4, checkpoint);
    }

    [SkippableTheory]
    [InlineData("apple", "pth", "fused.pth.tar")]
    [InlineData("timm", "safetensors", "fused.bin")]
    [InlineData("timm", null, "fused.safetensors")]
    public void ReparamWritesACheckpointThatReproducesTheFusedReference(string layout, string? format, string file)
    {
        Fixtures.Require();
        var output = Dir.File(file);
        string[] args = ["reparam", "--checkpoint", Fixtures.MobileOne("mobileone_s0_unfused.pth.tar"), "--output", output, "--layout", layout];
        if (format is not null) args = [.. args, "--format", format];
        var r = Run(args);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("max |train-time - fused|", r.Out);
        var logits = Dir.File("out.npy");
        Assert.Equal(0, Run("forward", "--checkpoint", output, "--input", Fixtures.MobileOne("mobileone_s0_input.npy"), "--output", logits, "--variant", "s0").Code);
        using var scope = NewDisposeScope();
        TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne("mobileone_s0_fused_logits.npy")), NpyFile.Read(logits), 1e-4, file);
    }

    [Theory]
    [InlineData("info")]
    [InlineData("forward")]
    [InlineData("reparam")]
    [InlineData("export")]
    [InlineData("predict")]
    [InlineData("bench")]
    public void EveryVerbHasHelp(string verb)
    {
        var r = Run(verb, "--help");
        Assert.Equal(0, r.Code);
        Assert.Contains("--variant", r.Out);
    }

    [Fact]
    public void UnknownOptionIsAUsageError() => AssertCleanError(Run("info", "--varient", "s0"), 2, "--varient");

    [Fact]
    public void UnknownVariantIsAUsageError() => AssertCleanError(Run("info", "--variant", "s9"), 2, "s9");

    [Fact]
    public void VariantAndConfigTogetherIsAUsageError() =>
        AssertCleanError(Run("info", "--variant", "s1", "--config", "x.json"), 2, "either --variant or --config");

    [Fact]
    public void MissingRequiredOptionIsAUsageError() => AssertCleanError(Run("forward", "--checkpoint", "x.pth"), 2, "--input");

    [Fact]
    public void MissingCheckpointIsAnError()
    {
        var input = Dir.File("in.npy");
        using (var x = zeros(1, 3, 32, 32)) NpyFile.Write(input, x);
        AssertCleanError(Run("forward", "--checkpoint", Dir.File("missing.pth"), "--input", input, "--output", Dir.File("o.npy")), 1, "checkpoint not found");
    }

    [Fact]
    public void BadInputArrayIsAnError()
    {
        var input = Dir.File("in.npy");
        using (var x = zeros(2, 32, 32)) NpyFile.Write(input, x);
        AssertCleanError(Run("forward", "--checkpoint", Dir.File("missing.pth"), "--input", input, "--output", Dir.File("o.npy")), 1, "expected shape [N, C, H, W], found [2, 32, 32]");
        File.WriteAllText(input, "not numpy");
        AssertCleanError(Run("forward", "--checkpoint", Dir.File("missing.pth"), "--input", input, "--output", Dir.File("o.npy")), 1, "not a .npy file");
    }

    [Fact]
    public void BadConfigFileIsAnError()
    {
        var config = Dir.File("c.json");
        File.WriteAllText(config, "{\"width_multipliers\": [1, 1, 1], \"num_classes\": 10}");
        AssertCleanError(Run("info", "--config", config), 1, "width_multipliers must have 4 entries, found 3");
        File.WriteAllText(config, "{\"variant\": \"s0\", \"use_sse\": true}");
        AssertCleanError(Run("info", "--config", config), 1, "unknown key 'use_sse'");
        File.WriteAllText(config, "{not json");
        AssertCleanError(Run("info", "--config", config), 1, "not valid JSON");
    }

    [SkippableFact]
    public void WrongVariantForTheCheckpointIsNamed()
    {
        Fixtures.Require();
        AssertCleanError(Run("reparam", "--checkpoint", Fixtures.MobileOne("mobileone_s0_unfused.pth.tar"), "--output", Dir.File("x.pth"), "--variant", "s2"),
            1, "this looks like S0, you asked for S2");
        Assert.False(File.Exists(Dir.File("x.pth")));
    }
}
