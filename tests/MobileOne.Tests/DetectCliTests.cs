using System.Text.Json;
using MobileOne.Detection.Evaluation;
using static MobileOne.Tests.CocoFiles;

namespace MobileOne.Tests;

/// <summary><c>mobileone detect score</c>.</summary>
public sealed class DetectCliTests : FileTest
{
    private (string Gt, string Dt) Files() => (
        GroundTruth(Dir.File("gt.json"), [new Image(3), new Image(8)], [1, 2],
            [new(1, 3, 1, [0, 0, 50, 50]), new(2, 8, 2, [10, 10, 200, 100])]),
        Results(Dir.File("dt.json"), [new(3, 1, [0, 0, 50, 50], 0.9), new(8, 2, [300, 300, 20, 20], 0.8)]));

    [Theory]
    [InlineData("train", "--epochs", "300")]
    [InlineData("train", "--branch-init", "ones")]
    [InlineData("detect train", "--epochs", "30")]
    [InlineData("detect train", "--lr", "0.05")]
    [InlineData("detect train", "--weight-decay", "4E-05")]
    [InlineData("detect train", "--branch-init", "identity")]
    [InlineData("segment train", "--batch", "8")]
    [InlineData("segment train", "--lr", "0.02")]
    [InlineData("segment train", "--branch-init", "identity")]
    public void HelpShowsEachTasksOwnRecipeDefaults(string verb, string flag, string shown)
    {
        var help = CliTests.Run([.. verb.Split(' '), "--help"]);
        Assert.Equal(0, help.Code);
        var line = help.Out.Split('\n').Single(l => l.TrimStart().StartsWith(flag + " <", StringComparison.Ordinal));
        Assert.EndsWith($"[default: {shown}]", line.TrimEnd());
    }

    [Fact]
    public void ScorePrintsTheTwelveStatisticsAsJson()
    {
        var (gt, dt) = Files();
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt, "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(CocoStats.Names, json.EnumerateObject().Select(p => p.Name));
        // Category 1 is found exactly, category 2 missed: AP50 is the mean of 1 / (1 + eps) and 0.
        Assert.Equal(0.5, json.GetProperty("AP50").GetDouble(), 1e-12);
        // Category 1's object (2,500 px^2) is medium, category 2's (20,000) large; none is small.
        Assert.Equal(-1, json.GetProperty("APs").GetDouble());
        Assert.Equal(1, json.GetProperty("APm").GetDouble(), 1e-12);
        Assert.Equal(0, json.GetProperty("APl").GetDouble());
    }

    [Fact]
    public void ScorePrintsATableWithoutJson()
    {
        var (gt, dt) = Files();
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt);
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, lines.Length);
        Assert.Equal(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.500", lines[1]);
        Assert.Contains("Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.000", lines[11]);
    }

    [Fact]
    public void ABadFileIsOneLineOnStderr()
    {
        var (gt, _) = Files();
        var dt = Results(Dir.File("bad.json"), [new(4, 1, [0, 0, 5, 5], 0.5)]);
        var r = CliTests.Run("detect", "score", "--gt", gt, "--detections", dt, "--json");
        CliTests.AssertCleanError(r, 1, "image_id 4 is not an image of the ground truth");
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.Empty(r.Out);
        File.WriteAllText(gt, "{\"images\": [");
        CliTests.AssertCleanError(CliTests.Run("detect", "score", "--gt", gt, "--detections", dt), 1, "not valid JSON");
    }
}

/// <summary><c>mobileone detect train|eval|predict</c> on a tiny mosaic: each verb's output, and clean failures.</summary>
public sealed class DetectVerbsCliTests : FileTest
{
    private string TinyMosaic()
    {
        Fixtures.RequireFashionMnist();
        var data = Dir.File("mosaic");
        var m = CliTests.Run("data", "mosaic", "--task", "detect", "--out", data, "--train", "6", "--val", "2", "--size", "64", "--min-item", "16", "--max-item", "40");
        Assert.True(m.Code == 0, m.Err);
        return data;
    }

    private static (int Code, string Out, string Err) Train(string data, string run, params string[] more) =>
        CliTests.Run(["detect", "train", "--data", data, "--out", run, "--epochs", "1", "--batch", "2", "--image-size", "64", "--threads", "1", "--ema-decay", "0", .. more]);

    private (string Data, string Run) TrainTiny()
    {
        var data = TinyMosaic();
        var run = Dir.File("run");
        var t = Train(data, run);
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("best validation mAP@[.5:.95]", t.Out);
        return (data, run);
    }

    [SkippableFact]
    public void AResumedRunEndsWithTheWeightsOfAnUninterruptedOne()
    {
        var data = TinyMosaic();
        CliTests.AssertResumeIsExact("detect", (run, more) => Train(data, run, more), Dir.File("straight"), Dir.File("broken"), stopAt: 2);
        CliTests.AssertCleanError(CliTests.Run("detect", "train", "--resume", Dir.File("broken"), "--lr", "0.5"), 2, "--lr cannot change when resuming");
    }

    [SkippableFact]
    public void TrainEvalAndPredictWorkTogether()
    {
        var (data, run) = TrainTiny();
        foreach (var f in new[] { "best.pth.tar", "last.pth.tar", "model_config.json", "metrics.jsonl", "loss.png", "mAP.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        // The run's recorded model is the one trained, at the size given on the command line, not the preset's 320.
        var recorded = new Training.RunFolder(run).ReadConfig();
        Assert.Equal(64, Detection.DetectorConfig.FromJson(recorded.Model, "config.json").ImageSize);
        Assert.Equal(Models.BranchInit.Identity, recorded.BranchInit);

        var e = CliTests.Run("detect", "eval", "--checkpoint", Path.Combine(run, "best.pth.tar"), "--data", data, "--json", "--detections", Dir.File("results.json"));
        Assert.True(e.Code == 0, e.Err);
        var report = JsonDocument.Parse(e.Out).RootElement;
        Assert.Equal(CocoStats.Names, report.GetProperty("model").EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Object, report.GetProperty("folded").ValueKind);
        Assert.True(report.GetProperty("max_difference").GetDouble() <= 1e-3);
        // The results file it wrote scores as detect score scores it.
        var s = CliTests.Run("detect", "score", "--gt", Path.Combine(data, "annotations", "instances_val.json"), "--detections", Dir.File("results.json"), "--json");
        Assert.True(s.Code == 0, s.Err);
        Assert.Equal(report.GetProperty("model").GetProperty("AP").GetDouble(), JsonDocument.Parse(s.Out).RootElement.GetProperty("AP").GetDouble());

        var image = Path.Combine(data, "images", "val", "000001.png");
        var p = CliTests.Run("detect", "predict", "--checkpoint", Path.Combine(run, "best.pth.tar"), "--image", image, "--min-score", "0", "--draw", Dir.File("drawn.png"));
        Assert.True(p.Code == 0, p.Err);
        var found = JsonDocument.Parse(p.Out).RootElement;
        Assert.Equal(64, found.GetProperty("width").GetInt32());
        Assert.NotEmpty(found.GetProperty("detections").EnumerateArray());
        Assert.Equal(64 * 64 * 3, MobileOne.Data.ImageDecoder.Decode(Dir.File("drawn.png")).Pixels.Length);
    }

    [SkippableFact]
    public void ExportsWithAndWithoutNmsEvaluateInOnnxRuntimeAsTheCheckpointDoes()
    {
        var (data, run) = TrainTiny();
        var checkpoint = Path.Combine(run, "best.pth.tar");
        var expected = Evaluated(CliTests.Run("detect", "eval", "--checkpoint", checkpoint, "--data", data, "--json", "--detections", Dir.File("torch.json")));
        foreach (var (name, flags) in new[] { ("nms", Array.Empty<string>()), ("dense", new[] { "--no-nms" }) })
        {
            var onnx = Dir.File(name + ".onnx");
            Assert.Equal(0, CliTests.Run(["detect", "export", "--checkpoint", checkpoint, "--output", onnx, .. flags]).Code);
            var graph = Evaluated(CliTests.Run("detect", "eval", "--onnx", onnx, "--data", data, "--json", "--detections", Dir.File(name + ".json")));
            foreach (var stat in CocoStats.Names) Assert.Equal(expected.GetProperty(stat).GetDouble(), graph.GetProperty(stat).GetDouble(), 1e-3);
            // The same detections, in the images' own pixels: scaled back from the graph's input as the checkpoint's are.
            var (torch, ort) = (Totals(Dir.File("torch.json")), Totals(Dir.File(name + ".json")));
            Assert.Equal(torch.Count, ort.Count);
            Assert.Equal(torch.Scores, ort.Scores, 1e-2);
            Assert.Equal(torch.Coordinates, ort.Coordinates, torch.Coordinates * 1e-4);
        }

        var q = CliTests.Run("quantize", "--onnx", Dir.File("nms.onnx"), "--calibration", Path.Combine(data, "images", "train"), "--output", Dir.File("int8.onnx"), "--json");
        Assert.True(q.Code == 0, q.Err);
        var report = JsonDocument.Parse(q.Out).RootElement;
        Assert.StartsWith("detections scoring 0.3 or more", report.GetProperty("check_measure").GetString());
        Assert.Contains("NonMaxSuppression", report.GetProperty("runtime_ops").EnumerateObject().Select(p => p.Name));
        Assert.Contains("QLinearConv", report.GetProperty("runtime_ops").EnumerateObject().Select(p => p.Name));
        var int8 = Evaluated(CliTests.Run("detect", "eval", "--onnx", Dir.File("int8.onnx"), "--data", data, "--json"));
        Assert.Equal(CocoStats.Names, int8.EnumerateObject().Select(p => p.Name));
        CliTests.AssertCleanError(CliTests.Run("detect", "eval", "--onnx", Dir.File("int8.onnx"), "--checkpoint", checkpoint, "--data", data), 2, "give exactly one of --checkpoint or --onnx");
    }

    private static JsonElement Evaluated((int Code, string Out, string Err) r)
    {
        Assert.True(r.Code == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.GetProperty("model");
    }

    // A COCO results file's detection count, summed scores and summed box coordinates.
    private static (int Count, double Scores, double Coordinates) Totals(string path)
    {
        var all = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateArray().ToList();
        return (all.Count, all.Sum(d => d.GetProperty("score").GetDouble()), all.Sum(d => d.GetProperty("bbox").EnumerateArray().Sum(v => v.GetDouble())));
    }

    [SkippableFact]
    public void ABadCheckpointOrMissingConfigurationIsOneLine()
    {
        var (data, run) = TrainTiny();
        CliTests.AssertBadCheckpointsAreOneLine(Dir, "detect", "detector", run, data);
    }
}
