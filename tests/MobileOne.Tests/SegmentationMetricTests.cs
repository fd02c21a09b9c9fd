using System.Text.Json;
using MobileOne.Data;
using MobileOne.Data.Mosaic;
using MobileOne.Segmentation;
using Xunit.Abstractions;

namespace MobileOne.Tests;

/// <summary>The confusion matrix, IoU, mIoU (nanmean) and pixel accuracy, by hand and against a plain count.</summary>
public sealed class SegmentationMetricTests(ITestOutputHelper output)
{
    [Fact]
    public void HandComputedMatrixGivesIoUAndAccuracy()
    {
        var m = new ConfusionMatrix(4);
        // Truth 0 0 1 1 2 255, prediction 0 1 1 1 0 2: the last pixel is ignored, prediction and all.
        m.Add([0, 0, 1, 1, 2, 255], [0, 1, 1, 1, 0, 2], "gt", "pred");
        Assert.Equal((1L, 1L, 2L, 1L, 0L), (m[0, 0], m[0, 1], m[1, 1], m[2, 0], m[2, 2]));
        Assert.Equal(5, m.Total);
        var s = m.Score();
        // Class 0: TP 1, FN 1, FP 1 -> 1/3. Class 1: TP 2, FP 1 -> 2/3. Class 2: TP 0, FN 1 -> 0. Class 3: absent -> null.
        Assert.Equal([1.0 / 3, 2.0 / 3, 0.0, null], s.PerClassIoU);
        // nanmean: class 3 is left out of the mean, class 2 (present, never right) is not.
        Assert.Equal(1.0 / 3, s.MeanIoU!.Value, 15);
        Assert.Equal(3.0 / 5, s.PixelAccuracy!.Value, 15);
        // Accumulated over images, not averaged per image: a second image adds its pixels.
        m.Add([3, 3, 3], [3, 3, 0], "gt2", "pred2");
        Assert.Equal(2.0 / 3, m.Score().PerClassIoU[3]!.Value, 15);
        Assert.Equal(5.0 / 8, m.Score().PixelAccuracy!.Value, 15);
        Assert.Equal(JsonSerializer.Serialize(new { mIoU = 1.0 / 3, pixel_accuracy = 0.6, per_class_iou = new double?[] { 1.0 / 3, 2.0 / 3, 0, null } }),
            new ConfusionMatrix(4).Also(c => c.Add([0, 0, 1, 1, 2, 255], [0, 1, 1, 1, 0, 2], "gt", "pred")).Score().ToJson());
    }

    [Fact]
    public void NothingCountedGivesNulls()
    {
        var m = new ConfusionMatrix(3);
        m.Add([255, 255], [0, 1], "gt", "pred");
        var s = m.Score();
        Assert.Equal((null, null), (s.MeanIoU, s.PixelAccuracy));
        Assert.All(s.PerClassIoU, v => Assert.Null(v));
    }

    [Fact]
    public void RandomMasksEqualAPlainCount()
    {
        var rng = new Random(7);
        const int k = 6;
        var m = new ConfusionMatrix(k);
        var truths = new List<byte[]>();
        var preds = new List<byte[]>();
        for (int image = 0; image < 5; image++)
        {
            var t = Enumerable.Range(0, 4000).Select(_ => (byte)(rng.Next(10) == 0 ? 255 : rng.Next(k - 1))).ToArray(); // class 5 never true
            var p = Enumerable.Range(0, 4000).Select(_ => (byte)rng.Next(k - 1)).ToArray();                               // nor predicted
            m.Add(t, p, "gt", "pred");
            truths.Add(t);
            preds.Add(p);
        }
        var s = m.Score();
        // The plain count: per class, the sets of pixels of that class in truth and in prediction, over all images.
        var pixels = truths.Zip(preds).SelectMany(tp => tp.First.Zip(tp.Second)).Where(px => px.First != 255).ToList();
        var expected = Enumerable.Range(0, k).Select(c =>
        {
            int inter = pixels.Count(px => px.First == c && px.Second == c), union = pixels.Count(px => px.First == c || px.Second == c);
            return union == 0 ? (double?)null : (double)inter / union;
        }).ToList();
        for (int c = 0; c < k; c++) Assert.Equal(expected[c] is null, s.PerClassIoU[c] is null);
        Assert.True(Math.Abs(expected.OfType<double>().Average() - s.MeanIoU!.Value) < 1e-9);
        Assert.True(Math.Abs((double)pixels.Count(px => px.First == px.Second) / pixels.Count - s.PixelAccuracy!.Value) < 1e-9);
        for (int c = 0; c < k - 1; c++) Assert.True(Math.Abs(expected[c]!.Value - s.PerClassIoU[c]!.Value) < 1e-9);
        output.WriteLine($"random masks: mIoU {s.MeanIoU:F6} over {k - 1} classes, pixel accuracy {s.PixelAccuracy:F6}, equal to a plain count within 1e-9");
    }

    [Fact]
    public void BadLabelsAndSettingsAreNamed()
    {
        var m = new ConfusionMatrix(4);
        Assert.Contains("a.png: label 7 at pixel 1 is not one of the 4 classes nor the ignore label 255",
            Assert.Throws<MobileOneException>(() => m.Add([0, 7], [0, 0], "a.png", "b.png")).Message);
        Assert.Contains("b.png: predicted label 4 at pixel 0 is not one of the 4 classes",
            Assert.Throws<MobileOneException>(() => m.Add([0, 1], [4, 0], "a.png", "b.png")).Message);
        Assert.Equal(0, m.Total); // a refused image adds nothing
        Assert.Contains("b.png: 1 predicted pixels for 2 true ones", Assert.Throws<MobileOneException>(() => m.Add([0, 1], [0], "a.png", "b.png")).Message);
        Assert.Contains("the ignore label 2 is one of the 4 classes", Assert.Throws<MobileOneException>(() => new ConfusionMatrix(4, ignore: 2)).Message);
    }
}

internal static class TestExtensions
{
    public static T Also<T>(this T value, Action<T> act)
    {
        act(value);
        return value;
    }
}

/// <summary><c>mobileone segment score</c> on masks written by hand and by the mosaic generator; each bad input named.</summary>
public sealed class SegmentScoreCliTests : FileTest
{
    private (string Gt, string Pred) Pair(byte[] truth, byte[] predicted, int width = 3, int height = 2)
    {
        var gt = Dir.File("gt");
        var pred = Dir.File("pred");
        SegmentationFiles.WriteMask(Path.Combine(gt, "a.png"), width, height, truth);
        SegmentationFiles.WriteMask(Path.Combine(pred, "a.png"), width, height, predicted);
        return (gt, pred);
    }

    [Fact]
    public void ScorePrintsJson()
    {
        var (gt, pred) = Pair([0, 0, 1, 1, 2, 255], [0, 1, 1, 1, 0, 2]);
        var r = CliTests.Run("segment", "score", "--gt", gt, "--pred", pred, "--num-classes", "4", "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(["mIoU", "pixel_accuracy", "per_class_iou"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1.0 / 3, json.GetProperty("mIoU").GetDouble(), 15);
        Assert.Equal(0.6, json.GetProperty("pixel_accuracy").GetDouble(), 15);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("per_class_iou")[3].ValueKind);
        // With --ignore 3 the 255 pixel is a label outside the classes.
        CliTests.AssertCleanError(CliTests.Run("segment", "score", "--gt", gt, "--pred", pred, "--num-classes", "3", "--ignore", "3"), 1,
            "label 255 at pixel 5 is not one of the 3 classes nor the ignore label 3");
    }

    [SkippableFact]
    public void MosaicMasksScoreOneAgainstThemselvesAndLessWhenDamaged()
    {
        Fixtures.RequireFashionMnist();
        var data = MosaicGenerator.Generate(new MosaicOptions { Task = MosaicTask.Segment, TrainImages = 1, ValImages = 3, Size = 64, Seed = 3 }, Dir.File("mosaic")).Dir;
        var gt = Path.Combine(data, "masks", "val");
        int classes = IdxClassNames.Read(Path.Combine(data, MosaicGenerator.ClassesFile)).Count;
        var same = CliTests.Run("segment", "score", "--gt", gt, "--pred", gt, "--num-classes", $"{classes}", "--json");
        Assert.True(same.Code == 0, same.Err);
        Assert.Equal(1.0, JsonDocument.Parse(same.Out).RootElement.GetProperty("mIoU").GetDouble());
        // Predict background everywhere: IoU of the background is its share of counted pixels, every item class 0.
        var pred = Dir.File("background");
        Directory.CreateDirectory(pred);
        foreach (var file in Directory.GetFiles(gt))
            File.WriteAllBytes(Path.Combine(pred, Path.GetFileName(file)), ImageEncoder.GrayPng(new byte[64 * 64], 64, 64));
        var r = CliTests.Run("segment", "score", "--gt", gt, "--pred", pred, "--num-classes", $"{classes}", "--json");
        Assert.True(r.Code == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        var perClass = json.GetProperty("per_class_iou").EnumerateArray().ToList();
        double background = perClass[0].GetDouble();
        Assert.Equal(background, json.GetProperty("pixel_accuracy").GetDouble(), 12);
        Assert.All(perClass.Skip(1).Where(v => v.ValueKind != JsonValueKind.Null), v => Assert.Equal(0, v.GetDouble()));
        int present = perClass.Count(v => v.ValueKind != JsonValueKind.Null);
        Assert.True(present > 1);
        Assert.Equal(background / present, json.GetProperty("mIoU").GetDouble(), 12);
    }

    [Fact]
    public void BadInputsAreOneLineErrorsNamingTheFile()
    {
        var (gt, pred) = Pair([0, 0, 1, 1, 2, 255], [0, 1, 1, 1, 0, 2]);
        string[] Args(params string[] extra) => ["segment", "score", "--gt", gt, "--pred", pred, "--num-classes", "4", .. extra];
        SegmentationFiles.WriteMask(Path.Combine(pred, "a.png"), 2, 3, [0, 0, 0, 0, 0, 0]);
        CliTests.AssertCleanError(CliTests.Run(Args()), 1, $"{Path.Combine(pred, "a.png")}: 2x3 pixels, its ground truth {Path.Combine(gt, "a.png")} 3x2");
        SegmentationFiles.WriteMask(Path.Combine(pred, "a.png"), 3, 2, [0, 0, 9, 0, 0, 0]);
        CliTests.AssertCleanError(CliTests.Run(Args()), 1, "a.png: predicted label 9 at pixel 2 is not one of the 4 classes");
        SegmentationFiles.WriteMask(Path.Combine(pred, "b.png"), 3, 2, [0, 0, 0, 0, 0, 0]);
        CliTests.AssertCleanError(CliTests.Run(Args()), 1, $"{Path.Combine(pred, "b.png")}: a prediction without ground truth in {gt}");
        SegmentationFiles.WriteMask(Path.Combine(gt, "c.png"), 3, 2, [0, 0, 0, 0, 0, 0]);
        CliTests.AssertCleanError(CliTests.Run(Args()), 1, $"{Path.Combine(pred, "c.png")}: no prediction for the ground truth");
        CliTests.AssertCleanError(CliTests.Run(Args("--ignore", "2")), 1, "the ignore label 2 is one of the 4 classes");
        CliTests.AssertCleanError(CliTests.Run("segment", "score", "--gt", Dir.File("none"), "--pred", pred, "--num-classes", "4"), 1, "no such ground-truth folder");
    }
}
