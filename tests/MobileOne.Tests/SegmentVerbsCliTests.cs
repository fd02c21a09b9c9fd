using System.Text.Json;
using MobileOne.Segmentation;

namespace MobileOne.Tests;

/// <summary><c>mobileone segment train|eval|predict|export</c> on a tiny mosaic: each verb's output, resuming, and clean failures.</summary>
public sealed class SegmentVerbsCliTests : FileTest
{
    private string TinyMosaic()
    {
        Fixtures.RequireFashionMnist();
        var data = Dir.File("mosaic");
        var m = CliTests.Run("data", "mosaic", "--task", "segment", "--out", data, "--train", "4", "--val", "2", "--size", "64", "--min-item", "16", "--max-item", "40");
        Assert.True(m.Code == 0, m.Err);
        return data;
    }

    private static (int Code, string Out, string Err) Train(string data, string run, params string[] more) => Train(data, run, 2, more);

    private static (int Code, string Out, string Err) Train(string data, string run, int epochs, params string[] more) =>
        CliTests.Run(["segment", "train", "--data", data, "--out", run, "--epochs", $"{epochs}", "--batch", "2", "--threads", "1", "--checkpoint-every", "0", .. more]);

    private (string Data, string Run) TrainTiny()
    {
        var data = TinyMosaic();
        var run = Dir.File("run");
        var t = Train(data, run, epochs: 1);
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("best validation mIoU", t.Out);
        return (data, run);
    }

    [SkippableFact]
    public void AResumedRunEndsWithTheWeightsOfAnUninterruptedOne()
    {
        var data = TinyMosaic();
        CliTests.AssertResumeIsExact("segment", (run, more) => Train(data, run, more), Dir.File("straight"), Dir.File("broken"), stopAt: 3);
        CliTests.AssertCleanError(CliTests.Run("segment", "train", "--resume", Dir.File("broken"), "--lr", "0.5"), 2, "--lr cannot change when resuming");
        CliTests.AssertCleanError(CliTests.Run("segment", "train", "--resume", Dir.File("broken"), "--aux"), 2, "--aux cannot change when resuming");
    }

    [SkippableFact]
    public void TrainEvalPredictAndExportWorkTogether()
    {
        var (data, run) = TrainTiny();
        foreach (var f in new[] { "best.pth.tar", "last.pth.tar", "model_config.json", "classes.json", "metrics.jsonl", "loss.png", "mIoU.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var epoch = JsonDocument.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).First()).RootElement;
        foreach (var key in new[] { "val_mIoU", "val_pixel_accuracy", "val_iou_0", "val_iou_10", "train_pixel_accuracy" })
            Assert.True(epoch.TryGetProperty(key, out _), key);

        var checkpoint = Path.Combine(run, "best.pth.tar");
        var e = CliTests.Run("segment", "eval", "--checkpoint", checkpoint, "--data", data, "--json");
        Assert.True(e.Code == 0, e.Err);
        var report = JsonDocument.Parse(e.Out).RootElement;
        var model = report.GetProperty("model");
        Assert.Equal(11, model.GetProperty("per_class_iou").GetArrayLength());
        Assert.Equal(JsonValueKind.Object, report.GetProperty("folded").ValueKind);
        Assert.True(report.GetProperty("max_difference").GetDouble() <= SegmenterEvalReport.Tolerance);
        // Training's last validation is this evaluation of the same weights.
        Assert.Equal(epoch.GetProperty("val_mIoU").GetDouble(), model.GetProperty("mIoU").GetDouble(), 1e-9);

        var image = Path.Combine(data, "images", "val", "000001.png");
        var p = CliTests.Run("segment", "predict", "--checkpoint", checkpoint, "--image", image, "--out", Dir.File("pred"));
        Assert.True(p.Code == 0, p.Err);
        var found = JsonDocument.Parse(p.Out).RootElement;
        Assert.Equal(64, found.GetProperty("width").GetInt32());
        Assert.Equal(64 * 64, found.GetProperty("classes").EnumerateArray().Sum(c => c.GetProperty("pixels").GetInt32()));
        var mask = MaskPng.Read(Path.Combine(Dir.File("pred"), "000001_mask.png"));
        Assert.Equal((64, 64), (mask.Width, mask.Height));
        Assert.All(mask.Labels, l => Assert.True(l < 11));
        Assert.Equal(64 * 64 * 3, Data.ImageDecoder.Decode(Path.Combine(Dir.File("pred"), "000001_overlay.png")).Pixels.Length);
        // The predicted mask scores as segment score scores it.
        foreach (var folder in new[] { "gt", "masks" }) Directory.CreateDirectory(Dir.File(folder));
        File.Copy(Path.Combine(data, "masks", "val", "000001.png"), Path.Combine(Dir.File("gt"), "a.png"));
        File.Copy(Path.Combine(Dir.File("pred"), "000001_mask.png"), Path.Combine(Dir.File("masks"), "a.png"));
        var s = CliTests.Run("segment", "score", "--gt", Dir.File("gt"), "--pred", Dir.File("masks"), "--num-classes", "11", "--json");
        Assert.True(s.Code == 0, s.Err);
        var matrix = new ConfusionMatrix(11);
        matrix.Add(MaskPng.Read(Path.Combine(Dir.File("gt"), "a.png")).Labels, mask.Labels, "gt", "pred");
        Assert.Equal(matrix.Score().MeanIoU, JsonDocument.Parse(s.Out).RootElement.GetProperty("mIoU").GetDouble());

        var x = CliTests.Run("segment", "export", "--checkpoint", checkpoint, "--output", Dir.File("seg.onnx"));
        Assert.True(x.Code == 0, x.Err);
        Assert.Contains("checked with ONNX Runtime on random images of 97x130 and 150x88", x.Out);
        using var onnx = new Inference.OnnxSegmenter(Dir.File("seg.onnx"));
        Assert.Equal("background", JsonSerializer.Deserialize<string[]>(onnx.Metadata["class_names"])![0]);
    }

    [SkippableFact]
    public void AnExportAndItsInt8FormEvaluateInOnnxRuntimeAsTheCheckpointDoes()
    {
        var (data, run) = TrainTiny();
        var checkpoint = Path.Combine(run, "best.pth.tar");
        Assert.Equal(0, CliTests.Run("segment", "export", "--checkpoint", checkpoint, "--output", Dir.File("seg.onnx")).Code);
        var scored = Scores(CliTests.Run("segment", "eval", "--checkpoint", checkpoint, "--data", data, "--json"));
        var graph = Scores(CliTests.Run("segment", "eval", "--onnx", Dir.File("seg.onnx"), "--data", data, "--json"));
        Assert.Equal(scored.GetProperty("mIoU").GetDouble(), graph.GetProperty("mIoU").GetDouble(), SegmenterEvalReport.Tolerance);
        Assert.Equal(scored.GetProperty("pixel_accuracy").GetDouble(), graph.GetProperty("pixel_accuracy").GetDouble(), SegmenterEvalReport.Tolerance);

        // The graph takes any size: calibration crops to the first image's side, 64 here.
        var q = CliTests.Run("quantize", "--onnx", Dir.File("seg.onnx"), "--calibration", Path.Combine(data, "images", "train"), "--output", Dir.File("seg_int8.onnx"), "--json");
        Assert.True(q.Code == 0, q.Err);
        var report = JsonDocument.Parse(q.Out).RootElement;
        Assert.Equal("pixels (class)", report.GetProperty("check_measure").GetString());
        Assert.Equal(4 * 64 * 64, report.GetProperty("check_compared").GetInt64());
        Assert.True(report.GetProperty("check_agreement").GetDouble() > 0.5, q.Out);
        Assert.Contains("QLinearConv", report.GetProperty("runtime_ops").EnumerateObject().Select(p => p.Name));
        var int8 = Scores(CliTests.Run("segment", "eval", "--onnx", Dir.File("seg_int8.onnx"), "--data", data, "--json"));
        Assert.Equal(11, int8.GetProperty("per_class_iou").GetArrayLength());
        Assert.InRange(int8.GetProperty("pixel_accuracy").GetDouble(), 0.5, 1);

        // Both graphs measured by bench like any ONNX model, at the size asked for (the graph takes any).
        var b = CliTests.Run("bench", "--onnx", Dir.File("seg.onnx"), "--onnx", Dir.File("seg_int8.onnx"), "--input-size", "64", "--runs", "2", "--warmup", "1");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("ratio of medians seg_int8.onnx / seg.onnx", b.Out);

        CliTests.AssertCleanError(CliTests.Run("segment", "eval", "--data", data), 2, "give exactly one of --checkpoint or --onnx");
        CliTests.AssertCleanError(CliTests.Run("segment", "eval", "--onnx", Dir.File("seg.onnx"), "--config", Path.Combine(run, "model_config.json"), "--data", data), 2,
            "--config goes with --checkpoint");
        CliTests.AssertCleanError(CliTests.Run("segment", "eval", "--onnx", Dir.File("none.onnx"), "--data", data), 1, "ONNX file not found");
    }

    private static JsonElement Scores((int Code, string Out, string Err) r)
    {
        Assert.True(r.Code == 0, r.Err);
        var all = JsonDocument.Parse(r.Out).RootElement;
        return all.GetProperty("model");
    }

    [SkippableFact]
    public void BadInputsAreOneLine()
    {
        var (data, run) = TrainTiny();
        CliTests.AssertBadCheckpointsAreOneLine(Dir, "segment", "segmenter", run, data);
        // A label above the classes that is not 255, met while evaluating: the mask is named.
        var maskPath = Path.Combine(data, "masks", "val", "000002.png");
        File.WriteAllBytes(maskPath, SegmentationFiles.Png(64, 64, Enumerable.Repeat((byte)12, 64 * 64).ToArray(), colourType: 0));
        var r = CliTests.Run("segment", "eval", "--checkpoint", Path.Combine(run, "best.pth.tar"), "--data", data);
        CliTests.AssertCleanError(r, 1, $"{maskPath}: label 12 at pixel 0 is not one of the 11 classes");
        Assert.Single(r.Err.Trim().Split('\n'));
        // Without classes.txt the class count must be given.
        File.Delete(Path.Combine(data, "classes.txt"));
        CliTests.AssertCleanError(Train(data, Dir.File("other")), 1, "no classes.txt to count the classes by");
    }
}
