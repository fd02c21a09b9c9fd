using System.Text.Json.Nodes;
using MobileOne.Checkpoints;
using MobileOne.Data.Mosaic;
using MobileOne.Detection;
using MobileOne.Models;
using Xunit.Abstractions;

namespace MobileOne.Tests;

/// <summary>Detection training end to end on a tiny mosaic written in COCO's format.</summary>
public sealed class DetectionTrainingTests(ITestOutputHelper output) : FileTest
{
    // Eight images of 96x96, validated on themselves: the question is whether training fits what it sees.
    // The training split lists each image four times (other ids, the same file), so that an epoch is four
    // steps of eight and a hundred steps take 25 epochs, not a hundred epochs of checkpoints.
    private string TinyMosaic()
    {
        Fixtures.RequireFashionMnist();
        var root = Dir.File("mosaic");
        MosaicGenerator.Generate(new MosaicOptions { TrainImages = 8, ValImages = 1, Size = 96, MinItemSide = 24, MaxItemSide = 60, Seed = 1 }, root);
        var train = Path.Combine(root, "annotations", "instances_train.json");
        File.Copy(train, Path.Combine(root, "annotations", "instances_val.json"), overwrite: true);
        Directory.Delete(Path.Combine(root, "images", "val"), recursive: true);
        Directory.CreateDirectory(Path.Combine(root, "images", "val"));
        foreach (var file in Directory.GetFiles(Path.Combine(root, "images", "train")))
            File.Copy(file, Path.Combine(root, "images", "val", Path.GetFileName(file)));
        var json = JsonNode.Parse(File.ReadAllText(train))!;
        JsonArray Repeat(string key) => new(Enumerable.Range(0, 4).SelectMany(copy => json[key]!.AsArray().Select(item =>
        {
            var clone = item!.DeepClone();
            clone["id"] = clone["id"]!.GetValue<long>() + 1000 * copy;
            if (clone["image_id"] is { } image) clone["image_id"] = image.GetValue<long>() + 1000 * copy;
            return clone;
        })).ToArray());
        json["images"] = Repeat("images");
        json["annotations"] = Repeat("annotations");
        File.WriteAllText(train, json.ToJsonString());
        return root;
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void AShortRunLearnsToFindTheItems()
    {
        var data = TinyMosaic();
        var options = DetectionTask.ForRun(data, "mobileone_s0") with
        {
            ImageSize = 96, Epochs = 25, BatchSize = 8, Lr = 0.03, WarmupEpochs = 1, EmaDecay = 0, CheckpointEvery = 0, Seed = 2, BoxAugment = "flip", Threads = 1,
        };
        var set = DetectionData.Split(data, "val");
        var untrained = DetectionEvaluator.Evaluate(DetectorConfig.FromJson(options.Model, "test").Create(options.Seed),
            new DetectionLoader(set, null, SsdLite.Normalization, 8, shuffle: false, seed: 0, workers: 2), 96);
        var result = DetectionTask.Train(options, Dir.File("run"), resume: false, new RecordingObserver());
        var trained = result.History[^1].Val;
        output.WriteLine($"mAP untrained {untrained.Stats.AP:F4}, after {result.Steps} steps {trained["mAP"]:F4} (AP50 {trained["AP50"]:F4})");
        Assert.True(trained["mAP"] >= Math.Max(0.3, 10 * untrained.Stats.AP), $"mAP {trained["mAP"]:F4} after training, {untrained.Stats.AP:F4} before");
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss);
        Assert.True(File.Exists(Path.Combine(result.RunDirectory, "mAP.png")));
    }

    [SkippableFact]
    public void AMobileOneBackboneStartsFromAClassificationCheckpoint()
    {
        var data = TinyMosaic();
        using var classifier = new MobileOneModel(MobileOneVariants.S0(numClasses: 10));
        WeightInit.Reset(classifier, 5);
        var path = Dir.File("s0.pth.tar");
        MobileOneCheckpoint.Save(classifier, path);

        var task = new DetectionTask(DetectionTask.ForRun(data, "mobileone_s0", path) with { ImageSize = 96 });
        using var model = (SsdLite)task.CreateModel();
        var log = new List<string>();
        task.Initialize(model, log.Add);
        var trunk = ((MobileOneTrunk)model.Backbone.Trunk).Network;
        var loaded = trunk.state_dict();
        foreach (var (key, value) in classifier.state_dict().Where(kv => !kv.Key.StartsWith("linear.", StringComparison.Ordinal)))
            Assert.True(value.equal(loaded[key]).all().item<bool>(), key);
        Assert.Contains("classifier left out", Assert.Single(log));

        // Another MobileOne is refused, naming both architectures.
        var other = new DetectionTask(DetectionTask.ForRun(data, "mobileone_s1", path) with { ImageSize = 96 });
        using var otherModel = (SsdLite)other.CreateModel();
        Assert.Contains("differs", Assert.Throws<CheckpointException>(() => other.Initialize(otherModel, _ => { })).Message);
    }
}
