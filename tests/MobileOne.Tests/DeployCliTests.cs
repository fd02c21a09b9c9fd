using System.Text.Json;
using MobileOne.Benchmarks;
using MobileOne.Inference;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary>The deployment verbs: export, predict, bench; and the classifier API behind predict.</summary>
public sealed class DeployCliTests : FileTest
{
    private static string Images => Path.Combine(Fixtures.Root, "images");

    [SkippableFact]
    public void ExportWritesAnOnnxFileThatRunsAtAnySizeWithDynamic()
    {
        Fixtures.Require();
        var path = Dir.File("s0.onnx");
        var r = Run("export", "--checkpoint", Fixtures.MobileOne("mobileone_s0_unfused.pth.tar"), "--output", path, "--dynamic");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("max |ONNX - TorchSharp|", r.Out);
        using var engine = new OnnxEngine(path);
        Assert.Null(engine.FixedHeight);
        Assert.Equal("s0", engine.Metadata["variant"]);
        Assert.Equal(2 * 1000, engine.Run(new float[2 * 3 * 99 * 131], 2, 99, 131).Length);
    }

    [SkippableFact]
    public void ExportRejectsBadRequests()
    {
        Fixtures.Require();
        var ckpt = Fixtures.MobileOne("tiny_se.pth.tar");
        AssertCleanError(Run("export", "--checkpoint", ckpt, "--output", Dir.File("a.onnx"), "--opset", "99"), 1, "opset 99 is not supported");
        AssertCleanError(Run("export", "--checkpoint", ckpt, "--output", Dir.File("a.onnx"), "--dynamic", "--input-size", "128"), 2, "either --input-size or --dynamic");
        AssertCleanError(Run("export", "--checkpoint", Dir.File("none.pth"), "--output", Dir.File("a.onnx")), 1, "checkpoint not found");
        Assert.False(File.Exists(Dir.File("a.onnx")));
    }

    [SkippableFact]
    public void PredictGivesTheSameClassesWithBothEnginesAndFromTheExportedFile()
    {
        Fixtures.Require();
        var ckpt = Fixtures.MobileOne("mobileone_s0.pth.tar");
        var onnx = Run("predict", "--checkpoint", ckpt, Images, "--json", "--topk", "5");
        var torch = Run("predict", "--checkpoint", ckpt, Images, "--json", "--topk", "5", "--engine", "torch");
        var onnxPath = Dir.File("s0.onnx");
        Assert.Equal(0, Run("export", "--checkpoint", ckpt, "--output", onnxPath).Code);
        var file = Run("predict", "--onnx", onnxPath, Images, "--json", "--topk", "5");
        Assert.True(onnx.Code == 0 && torch.Code == 0 && file.Code == 0, onnx.Err + torch.Err + file.Err);
        var expected = Top(onnx.Out);
        Assert.Equal(2, expected.Count);
        foreach (var other in new[] { Top(torch.Out), Top(file.Out) })
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Select(p => p.Index), other[i].Select(p => p.Index));
                Assert.All(expected[i].Zip(other[i]), pair => Assert.Equal(pair.First.P, pair.Second.P, 4));
            }
    }

    private static List<List<(int Index, double P)>> Top(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("images").EnumerateArray()
            .Select(i => i.GetProperty("predictions").EnumerateArray().Select(p => (p.GetProperty("index").GetInt32(), p.GetProperty("probability").GetDouble())).ToList())
            .ToList();

    [SkippableFact]
    public void PredictSkipsUnreadableImagesAndReportsThem()
    {
        Fixtures.Require();
        File.Copy(Path.Combine(Images, "rocket.jpg"), Dir.File("a_rocket.jpg"));
        File.WriteAllText(Dir.File("b_broken.png"), "not a png");
        File.WriteAllText(Dir.File("notes.txt"), "ignored: not an image extension");
        var r = Run("predict", "--onnx", Path.Combine(Fixtures.Root, "onnx", "mobilenet_v2_pytorch.onnx"), Dir.Path, "--topk", "2");
        Assert.Equal(0, r.Code);
        Assert.Contains("a_rocket.jpg", r.Out);
        Assert.Contains("b_broken.png", r.Err);
        Assert.DoesNotContain("notes.txt", r.Out + r.Err);
        // Nothing readable at all is a failure.
        AssertCleanError(Run("predict", "--onnx", Path.Combine(Fixtures.Root, "onnx", "mobilenet_v2_pytorch.onnx"), Dir.File("b_broken.png")), 1, "not a decodable image");
    }

    [SkippableFact]
    public void PredictRejectsBadArguments()
    {
        Fixtures.Require();
        var img = Path.Combine(Images, "chelsea.png");
        AssertCleanError(Run("predict", img), 2, "exactly one of --checkpoint or --onnx");
        AssertCleanError(Run("predict", "--onnx", Dir.File("missing.onnx"), img), 1, "ONNX file not found");
        File.WriteAllText(Dir.File("bad.onnx"), "garbage");
        AssertCleanError(Run("predict", "--onnx", Dir.File("bad.onnx"), img), 1, "not a valid ONNX model");
        File.WriteAllLines(Dir.File("labels.txt"), ["a", "b"]);
        AssertCleanError(Run("predict", "--checkpoint", Fixtures.MobileOne("tiny_se.pth.tar"), img, "--labels", Dir.File("labels.txt")), 1, "2 class labels given for a classifier with 10 classes");
    }

    [SkippableFact]
    public void PredictUsesALabelsFile()
    {
        Fixtures.Require();
        File.WriteAllLines(Dir.File("labels.txt"), Enumerable.Range(0, 10).Select(i => $"thing-{i}"));
        var r = Run("predict", "--checkpoint", Fixtures.MobileOne("tiny_se.pth.tar"), Path.Combine(Images, "chelsea.png"), "--labels", Dir.File("labels.txt"), "--topk", "10", "--image-size", "64", "--crop-pct", "1");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(10, r.Out.Split('\n').Count(l => l.Contains("thing-")));
    }

    [Fact]
    public void BenchReportsTheProtocolStatistics()
    {
        var r = Run("bench", "--config", WriteTinyConfig(), "--runs", "5", "--warmup", "1", "--input-size", "64", "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        double min = json.GetProperty("min_ms").GetDouble(), median = json.GetProperty("median_ms").GetDouble();
        double p90 = json.GetProperty("p90_ms").GetDouble(), mean = json.GetProperty("mean_ms").GetDouble();
        Assert.True(min > 0 && min <= median && median <= p90 && min <= mean, r.Out);
        Assert.Equal(5, json.GetProperty("runs").GetInt32());
        Assert.Equal("onnx", json.GetProperty("engine").GetString());
    }

    [Fact]
    public void BenchTorchEngineAndUnfused()
    {
        var r = Run("bench", "--config", WriteTinyConfig(), "--runs", "3", "--warmup", "0", "--input-size", "48", "--engine", "torch", "--unfused");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("unfused (torch)", r.Out);
        Assert.Contains("median", r.Out);
    }

    [SkippableFact]
    public void BenchMeasuresSeveralOnnxFilesAlternately()
    {
        Fixtures.Require();
        var onnx = Path.Combine(Fixtures.Root, "onnx");
        var r = Run("bench", "--onnx", Path.Combine(onnx, "mobileone_s0_pytorch.onnx"), "--onnx", Path.Combine(onnx, "mobilenet_v2_pytorch.onnx"), "--runs", "3", "--warmup", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(2, json.GetProperty("results").GetArrayLength());
        Assert.Equal(1.0, json.GetProperty("ratio_of_medians")[0].GetDouble());
    }

    [Fact]
    public void BenchMeasuresTrainingThroughput()
    {
        var r = Run("bench", "--train", "--config", WriteTinyConfig(), "--batch", "4", "--input-size", "32", "--runs", "2", "--warmup", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.True(json.GetProperty("images_per_s").GetDouble() > 0);
        Assert.Equal("fp32", json.GetProperty("precision").GetString());
        var bf16 = Run("bench", "--train", "--bf16", "--config", WriteTinyConfig(), "--batch", "4", "--input-size", "32", "--runs", "1", "--warmup", "0", "--json");
        Assert.True(bf16.Code == 0, bf16.Err);
        Assert.Equal("bf16", JsonDocument.Parse(bf16.Out).RootElement.GetProperty("precision").GetString());
        var both = Run("bench", "--train", "--branches", "both", "--config", WriteTinyConfig(), "--batch", "4", "--input-size", "32", "--runs", "2", "--warmup", "0", "--json");
        Assert.True(both.Code == 0, both.Err);
        var rows = JsonDocument.Parse(both.Out).RootElement;
        Assert.Equal(["stacked", "separate"], rows.EnumerateArray().Select(e => e.GetProperty("branches").GetString()));
        Assert.All(rows.EnumerateArray(), e => Assert.True(e.GetProperty("images_per_s").GetDouble() > 0));
        AssertCleanError(Run("bench", "--train", "--branches", "merged"), 2, "merged");
    }

    [Fact]
    public void BenchRejectsConflictingSources()
    {
        AssertCleanError(Run("bench", "--variant", "s0", "--onnx", "x.onnx"), 2, "give one of");
        AssertCleanError(Run("bench", "--fused", "--unfused"), 2, "--fused or --unfused");
        AssertCleanError(Run("bench", "--runs", "0"), 2, "--runs must be at least 1");
        AssertCleanError(Run("bench", "--onnx", "x.onnx", "--engine", "torch"), 2, "--onnx runs with --engine onnx");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void BenchCompareCoversAllVariants()
    {
        var r = Run("bench", "--compare", "--engine", "onnx", "--runs", "1", "--warmup", "0", "--input-size", "64", "--json");
        Assert.True(r.Code == 0, r.Err);
        var rows = JsonDocument.Parse(r.Out).RootElement.GetProperty("rows");
        Assert.Equal(["s0", "s1", "s2", "s3", "s4"], rows.EnumerateArray().Select(x => x.GetProperty("variant").GetString()));
        Assert.All(rows.EnumerateArray(), x => Assert.True(x.GetProperty("onnx_speedup").GetDouble() > 0));
        Assert.All(rows.EnumerateArray(), x => Assert.True(x.GetProperty("onnx_int8_speedup").GetDouble() > 0));
    }

    [Fact]
    public void PercentilesFollowNumpy()
    {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90]) = [3.0, 7.6]
        var s = LatencyStats.From([4, 1, 10, 3, 2], batch: 2);
        Assert.Equal(1, s.MinMs);
        Assert.Equal(3, s.MedianMs);
        Assert.Equal(7.6, s.P90Ms, 10);
        Assert.Equal(4, s.MeanMs);
        Assert.Equal(2 * 1000 / 3.0, s.Throughput, 10);
    }

    private string WriteTinyConfig()
    {
        var path = Dir.File("tiny.json");
        File.WriteAllText(path, "{\"num_blocks_per_stage\": [1, 1, 1, 1], \"width_multipliers\": [0.25, 0.25, 0.25, 0.25], \"num_conv_branches\": 2, \"num_classes\": 5}");
        return path;
    }
}
