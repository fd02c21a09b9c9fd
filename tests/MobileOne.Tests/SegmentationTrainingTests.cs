using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Data.Mosaic;
using MobileOne.Detection;
using MobileOne.Models;
using MobileOne.Segmentation;
using Xunit.Abstractions;

namespace MobileOne.Tests;

/// <summary>Segmentation training end to end on a tiny mosaic, and the pieces of its data pipeline.</summary>
public sealed class SegmentationTrainingTests(ITestOutputHelper output) : FileTest
{
    /// <summary>
    /// Eight images of <paramref name="size"/> pixels, validated on themselves: the question is whether training fits what
    /// it sees. The training list names each image four times, so that an epoch is four steps of eight.
    /// </summary>
    internal static string TinyMosaic(string root, int size = 96, int images = 8, int repeat = 4)
    {
        Fixtures.RequireFashionMnist();
        MosaicGenerator.Generate(new MosaicOptions { Task = MosaicTask.Segment, TrainImages = images, ValImages = 1, Size = size, MinItemSide = size / 4, MaxItemSide = size * 5 / 8, Seed = 1 }, root);
        foreach (var folder in new[] { "images", "masks" })
        {
            var val = Path.Combine(root, folder, "val");
            Directory.Delete(val, recursive: true);
            Directory.CreateDirectory(val);
            foreach (var file in Directory.GetFiles(Path.Combine(root, folder, "train"))) File.Copy(file, Path.Combine(val, Path.GetFileName(file)));
        }
        var stems = File.ReadAllLines(Path.Combine(root, "train.txt")).Where(l => l.Length > 0).ToList();
        File.WriteAllLines(Path.Combine(root, "val.txt"), stems);
        File.WriteAllLines(Path.Combine(root, "train.txt"), Enumerable.Repeat(stems, repeat).SelectMany(s => s));
        return root;
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void AShortRunLearnsToSegmentTheItems()
    {
        var data = TinyMosaic(Dir.File("mosaic"));
        var options = SegmentationTask.ForRun(data, "mobileone_s0") with
        {
            Epochs = 25, BatchSize = 8, Lr = 0.05, WarmupEpochs = 1, CheckpointEvery = 0, Seed = 2, Threads = 1,
        };
        Assert.Equal(96, options.ImageSize);
        var set = SegmentationData.Open(data, "val", 11);
        using var untrainedModel = SegmenterConfig.FromJson(options.Model, "test").Create(options.Seed);
        var untrained = SegmentationEvaluator.Evaluate(untrainedModel, new SegmentationLoader(set, null, DeepLabV3.Normalization, 8, shuffle: false, seed: 0, workers: 2));
        var result = SegmentationTask.Train(options, Dir.File("run"), resume: false, new RecordingObserver());
        var trained = result.History[^1].Val;
        // What predicting the background everywhere scores: its IoU is the background's share, every other class present 0.
        var truth = new ConfusionMatrix(11);
        for (int i = 0; i < set.Samples.Count; i++)
        {
            var labels = set.Load(i).Mask.Labels;
            truth.Add(labels, new byte[labels.Length], "truth", "background");
        }
        double background = truth.Score().MeanIoU!.Value;
        var items = Enumerable.Range(1, 10).Count(c => trained[$"iou_{c}"] > 0.05);
        output.WriteLine($"mIoU untrained {untrained.Score.MeanIoU:F4}, all background {background:F4}, after {result.Steps} steps {trained["mIoU"]:F4} " +
            $"(pixel accuracy {trained["pixel_accuracy"]:F4}, {items} item classes above 0.05)");
        Assert.Equal(100, result.Steps);
        Assert.True(trained["mIoU"] >= 1.5 * background && trained["mIoU"] >= 10 * untrained.Score.MeanIoU!.Value,
            $"mIoU {trained["mIoU"]:F4} after training, {untrained.Score.MeanIoU:F4} before, {background:F4} for all background");
        Assert.True(items >= 2, $"{items} item classes found");
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss / 2);
        Assert.True(File.Exists(Path.Combine(result.RunDirectory, "mIoU.png")));
    }

    [SkippableFact]
    public void AMobileOneBackboneStartsFromAClassificationCheckpoint()
    {
        var data = TinyMosaic(Dir.File("mosaic"), size: 64, images: 2, repeat: 1);
        using var classifier = new MobileOneModel(MobileOneVariants.S0(numClasses: 10));
        WeightInit.Reset(classifier, 5);
        var path = Dir.File("s0.pth.tar");
        MobileOneCheckpoint.Save(classifier, path);

        var task = new SegmentationTask(SegmentationTask.ForRun(data, "mobileone_s0", path) with { BatchSize = 2 });
        using var model = (DeepLabV3)task.CreateModel();
        var log = new List<string>();
        task.Initialize(model, log.Add);
        var loaded = ((MobileOneTrunk)model.Backbone).Network.state_dict();
        foreach (var (key, value) in classifier.state_dict().Where(kv => !kv.Key.StartsWith("linear.", StringComparison.Ordinal)))
            Assert.True(value.equal(loaded[key]).all().item<bool>(), key);
        Assert.Contains("classifier left out", Assert.Single(log));

        var other = new SegmentationTask(SegmentationTask.ForRun(data, SegmenterConfig.MobileNetV3Large, path) with { BatchSize = 2 });
        using var otherModel = (DeepLabV3)other.CreateModel();
        Assert.Contains("loads into a MobileOne backbone", Assert.Throws<MobileOneException>(() => other.Initialize(otherModel, _ => { })).Message);
    }

    [SkippableFact]
    public void ForRunCountsTheClassesAndRefusesAContradiction()
    {
        var data = TinyMosaic(Dir.File("mosaic"), size: 64, images: 2, repeat: 1);
        var options = SegmentationTask.ForRun(data, "mobileone_s0");
        var config = SegmenterConfig.FromJson(options.Model, "test");
        Assert.Equal(11, config.NumClasses);
        Assert.Equal((64, 0.0), (options.ImageSize, options.EmaDecay));
        Assert.Contains("names 11 classes, not 21", Assert.Throws<MobileOneException>(() => SegmentationTask.ForRun(data, "mobileone_s0", numClasses: 21)).Message);
        File.Delete(Path.Combine(data, MosaicGenerator.ClassesFile));
        Assert.Contains("no classes.txt", Assert.Throws<MobileOneException>(() => SegmentationTask.ForRun(data, "mobileone_s0")).Message);
    }

    [Fact]
    public void Ade20kMasksTrainWithTheirOwnLabels()
    {
        // ADE20K's values: 0 ("other") ignored, 1..3 the three classes 0..2.
        var root = Dir.File("ade");
        foreach (var split in new[] { "train", "val" })
        {
            SegmentationFiles.WriteImage(Path.Combine(root, "images", split + ".png"), 32, 32);
            SegmentationFiles.WriteMask(Path.Combine(root, "masks", split + ".png"), 32, 32, Enumerable.Range(0, 32 * 32).Select(i => (byte)(i % 4)).ToArray());
            File.WriteAllText(Path.Combine(root, split + ".txt"), split + "\n");
        }
        Assert.Contains("label 3 at pixel 3 is not one of the 3 classes", Assert.Throws<MobileOneException>(() => SegmentationTask.ForRun(root, "mobileone_s0", numClasses: 3)).Message);
        var options = SegmentationTask.ForRun(root, "mobileone_s0", numClasses: 3, maskLabels: "ade20k") with { BatchSize = 1 };
        Assert.Equal(("ade20k", 32), (options.MaskLabels, options.ImageSize));
        var task = new SegmentationTask(options);
        using var model = (DeepLabV3)task.CreateModel();
        var metrics = task.Evaluate(model);
        Assert.Equal(3, Enumerable.Range(0, 4).Count(c => metrics.TryGet($"iou_{c}", out _)));
        Assert.Contains("unknown mask label convention 'coco'", Assert.Throws<MobileOneException>(() => SegmentationTask.ForRun(root, "mobileone_s0", numClasses: 3, maskLabels: "coco")).Message);
    }

    [Fact]
    public void AugmentationMovesImageAndMaskTogetherAndDependsOnItsSeedAlone()
    {
        // Each pixel's red level tells its class: after any crop, flip or resize, a pixel inside a region of one label
        // (its 5x5 neighbours the same: filtering blends levels only near borders) must be that label's level, and
        // ignored padding black.
        int w = 80, h = 60;
        var labels = new byte[w * h];
        for (int i = 0; i < labels.Length; i++) labels[i] = (byte)(((i % w) / 20 + (i / w) / 20 * 4) % 5);
        var pixels = labels.SelectMany(l => new[] { (byte)(l * 50 + 5), (byte)0, (byte)0 }).ToArray();
        var sample = new SegmentationImage(new RgbImage(w, h, pixels), new LabelMask(w, h, labels));
        var aug = SegmentationAugmentation.Reference;
        bool padded = false;
        int interior = 0;
        for (int k = 0; k < 40; k++)
        {
            var a = aug.Apply(sample, seed: 1, epoch: 2, index: k, size: 32);
            Assert.Equal((32, 32, 32, 32), (a.Image.Width, a.Image.Height, a.Mask.Width, a.Mask.Height));
            Assert.Equal(a.Mask.Labels, aug.Apply(sample, 1, 2, k, 32).Mask.Labels);
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                {
                    byte l = a.Mask.Labels[y * 32 + x], r = a.Image.Pixels[3 * (y * 32 + x)];
                    if (l == SegmentationData.Ignore) { Assert.Equal(0, r); padded = true; continue; }
                    bool inside = true;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++)
                            inside &= y + dy is >= 0 and < 32 && x + dx is >= 0 and < 32 && a.Mask.Labels[(y + dy) * 32 + x + dx] == l;
                    if (!inside) continue;
                    interior++;
                    Assert.True(Math.Abs(r - (l * 50 + 5)) <= 2, $"sample {k} pixel ({x}, {y}): label {l}, red {r}");
                }
        }
        Assert.True(interior > 10_000, $"{interior} interior pixels");
        Assert.True(padded, "scales down to half the crop must pad");
        Assert.NotEqual(aug.Apply(sample, 1, 2, 0, 32).Mask.Labels, aug.Apply(sample, 1, 3, 0, 32).Mask.Labels);
    }

    [Fact]
    public void NearestResizeKeepsLabelsAndFlipMirrorsThem()
    {
        var mask = new LabelMask(3, 2, [1, 2, 3, 4, 5, 6]);
        Assert.Equal([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6], SegmentationTransforms.ResizeNearest(mask, 6, 4).Labels);
        Assert.Equal([1, 3, 4, 6], SegmentationTransforms.ResizeNearest(mask, 2, 2).Labels);
        var image = new RgbImage(3, 2, new byte[18]);
        Assert.Equal([3, 2, 1, 6, 5, 4], SegmentationTransforms.FlipHorizontal(new SegmentationImage(image, mask)).Mask.Labels);
        var padded = SegmentationTransforms.PadTo(new SegmentationImage(image, mask), 4, 3);
        Assert.Equal([1, 2, 3, 255, 4, 5, 6, 255, 255, 255, 255, 255], padded.Mask.Labels);
        Assert.Contains("lies outside", Assert.Throws<MobileOneException>(() => SegmentationTransforms.Crop(padded, 1, 1, 4, 2)).Message);
    }
}
