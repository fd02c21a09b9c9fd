using MobileOne.Classification;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary>Training runs end to end on real Fashion-MNIST data: resumable exactly, observable, accurate.</summary>
public sealed class TrainerTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.5], false, 2, 10, inChannels: 1, strides: [1, 2, 2, 2, 1]);

    private static TrainOptions Options(int epochs = 2, int trainSubset = 96, int batch = 16) => TrainOptions.FashionMnist(channels: 1) with
    {
        Model = Tiny.ToJson(),
        Epochs = epochs,
        BatchSize = batch,
        WarmupEpochs = 0.5,
        CropScaleMin = 0.35,
        Augment = AugmentPolicy.RandAugment,
        EmaDecay = 0.99,
        TrainSubset = trainSubset,
        ValSubset = 50,
        CheckpointEvery = 0,
        Workers = 2,
        Seed = 7,
        // Dropout draws random masks: resuming must draw the same ones.
        Dropout = 0.2,
    };

    private static StateDict Weights(string run) => CheckpointFile.Read(Path.Combine(run, "last.pth.tar"));

    private static void AssertSameWeights(StateDict a, StateDict b, double tolerance)
    {
        Assert.Equal(a.Keys, b.Keys);
        double worst = 0;
        foreach (var (k, t) in a)
        {
            using var x = t.ToTorch().to(torch.float64);
            using var y = b[k].ToTorch().to(torch.float64);
            worst = Math.Max(worst, (x - y).abs().max().item<double>());
        }
        Assert.True(worst <= tolerance, $"weights differ by {worst:E3}");
    }

    [SkippableFact]
    public void ResumingAfterAnInterruptionGivesTheUninterruptedResult()
    {
        Fixtures.RequireFashionMnist();
        var straight = Dir.File("straight");
        var straightObserver = new RecordingObserver();
        var full = ClassificationTask.Train(Options(), straight, resume: false, straightObserver);
        Assert.Equal(TrainingOutcome.Completed, full.Outcome);
        Assert.Equal(12, full.Steps); // 2 epochs x 96 / 16

        // Interrupted in the middle of the first epoch (as Ctrl-C does), then resumed.
        var broken = Dir.File("broken");
        using var cancel = new CancellationTokenSource();
        var first = ClassificationTask.Train(Options(), broken, resume: false, new RecordingObserver(cancelAtStep: 4, cancel), cancel.Token);
        Assert.Equal(TrainingOutcome.Interrupted, first.Outcome);
        Assert.Equal(4, first.Steps);
        var resumedObserver = new RecordingObserver();
        var second = ClassificationTask.Train(null, broken, resume: true, resumedObserver);
        Assert.Equal(TrainingOutcome.Completed, second.Outcome);
        Assert.Equal(12, second.Steps);
        Assert.Equal(straightObserver.Steps.Skip(4).Select(s => s.Loss), resumedObserver.Steps.Select(s => s.Loss));
        AssertSameWeights(Weights(straight), Weights(broken), 0);
        Assert.Equal(full.History.Select(m => m.Val["top1"]), second.History.Select(m => m.Val["top1"]));

        // Stopped at a step limit across an epoch boundary, then resumed with the limit lifted.
        var limited = Dir.File("limited");
        var part = ClassificationTask.Train(Options() with { MaxSteps = 7 }, limited, resume: false, new RecordingObserver());
        Assert.Equal(TrainingOutcome.StoppedAtLimit, part.Outcome);
        var again = ClassificationTask.Train(Options() with { MaxSteps = 7 }, limited, resume: true, new RecordingObserver());
        Assert.Equal(TrainingOutcome.StoppedAtLimit, again.Outcome);
        Assert.Equal(7, again.Steps);
        var rest = ClassificationTask.Train(Options(), limited, resume: true, new RecordingObserver());
        Assert.Equal(12, rest.Steps);
        AssertSameWeights(Weights(straight), Weights(limited), 0);
    }

    [SkippableFact]
    public void RunFolderHoldsEverythingAndRefusesToBeOverwritten()
    {
        Fixtures.RequireFashionMnist();
        var run = Dir.File("run");
        ClassificationTask.Train(Options(epochs: 1), run, resume: false, new RecordingObserver());
        foreach (var f in new[] { "config.json", "model_config.json", "metrics.jsonl", "state.safetensors", "last.pth.tar", "best.pth.tar", "ema.pth.tar", "loss.png", "accuracy.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing");
        var metrics = new RunFolder(run).ReadMetrics();
        Assert.Single(metrics);
        Assert.True(metrics[0].LearningRate > 0 && metrics[0].WeightDecay > 0 && metrics[0].Seconds > 0);
        // The weights load in the layout PyTorch code expects, with the run's configuration found beside them.
        var loaded = MobileOneCheckpoint.Load(Path.Combine(run, "best.pth.tar"));
        Assert.Equal(Tiny, loaded.Model.Config);
        Assert.Contains("resume it", Assert.Throws<MobileOneException>(() => ClassificationTask.Train(Options(), run, resume: false, new RecordingObserver())).Message);
        Assert.Contains("nothing to resume", Assert.Throws<MobileOneException>(() => ClassificationTask.Train(null, Dir.File("empty"), resume: true, new RecordingObserver())).Message);
    }

    [SkippableFact]
    public void FrozenStagesKeepTheirWeightsAndBatchNormStatisticsBitIdentical()
    {
        Fixtures.RequireFashionMnist();
        var init = Dir.File("init.pth.tar");
        using (var model = new MobileOneModel(Tiny))
        {
            WeightInit.Reset(model, 99);
            MobileOneCheckpoint.Save(model, init);
        }
        var run = Dir.File("frozen");
        var observer = new RecordingObserver();
        ClassificationTask.Train(Options(epochs: 1) with { Init = init, FreezeStages = 2 }, run, resume: false, observer);
        Assert.Contains(observer.Messages, m => m.Contains("every weight loaded"));
        var start = CheckpointFile.Read(init);
        foreach (var file in new[] { "last.pth.tar", "ema.pth.tar" })
        {
            var after = CheckpointFile.Read(Path.Combine(run, file));
            bool Same(string key)
            {
                using var a = start[key].ToTorch();
                using var b = after[key].ToTorch();
                return a.equal(b).all().item<bool>();
            }
            var frozen = start.Keys.Where(k => k.StartsWith("stage0.") || k.StartsWith("stage1.")).ToList();
            Assert.Contains(frozen, k => k.EndsWith(".running_mean"));
            Assert.All(frozen, k => Assert.True(Same(k), $"{file}: frozen {k} changed"));
            // The stages after them train, BatchNorm statistics included.
            Assert.Contains(start.Keys, k => k.StartsWith("stage2.") && k.EndsWith(".weight") && !Same(k));
            Assert.Contains(start.Keys, k => k.StartsWith("stage2.") && k.EndsWith(".running_mean") && !Same(k));
        }
    }

    [SkippableFact]
    public void AVariantTrainsWithTheDataClassCount()
    {
        Fixtures.RequireFashionMnist();
        var run = Dir.File("s0");
        string[] common = ["train", "--data", "fashion-mnist", "--variant", "s0", "--image-size", "32", "--epochs", "1", "--batch", "8",
            "--train-subset", "16", "--val-subset", "8", "--workers", "1"];
        var r = Run([.. common, "--out", run]);
        Assert.True(r.Code == 0, r.Err);
        var config = MobileOneConfig.FromJsonFile(Path.Combine(run, "model_config.json"));
        Assert.Equal(10, config.NumClasses);
        Assert.True(config.SameBackbone(MobileOneVariants.S0().WithInput(1, config.Strides), ignoreBranches: false));
        AssertCleanError(Run([.. common, "--num-classes", "5", "--out", Dir.File("five")]), 1, "has 10 classes; the model has 5");
        AssertCleanError(Run("train", "--resume", run, "--epochs", "3"), 2, "--epochs cannot change when resuming");
    }

    [SkippableFact]
    public void InitFineTunesACheckpointOnAnImageFolderWithAnotherClassCount()
    {
        Fixtures.RequireFashionMnist();
        var pretrained = Dir.File("pretrained");
        Directory.CreateDirectory(pretrained);
        var init = Path.Combine(pretrained, "weights.safetensors");
        // No model_config.json beside it: the stages' strides are read off the weights.
        using (var model = new MobileOneModel(Tiny))
        {
            WeightInit.Reset(model, 5);
            MobileOneCheckpoint.Save(model, init, CheckpointLayout.Timm);
        }
        var data = Dir.File("shoes");
        var made = Run("data", "subset", "--from", "fashion-mnist", "--classes", "7,8,9", "--format", "imagefolder", "--train-per-class", "8",
            "--val-per-class", "4", "--out", data);
        Assert.True(made.Code == 0, made.Err);
        var run = Dir.File("fine");
        var r = Run("train", "--data", data, "--init", init, "--image-size", "28", "--epochs", "1", "--batch", "8", "--warmup-epochs", "0",
            "--head-lr-mult", "10", "--freeze-stages", "1", "--workers", "1", "--out", run);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("its classifier has 10 classes, the data 3; the classifier starts from random weights", r.Out);
        var options = new RunFolder(run).ReadConfig();
        Assert.Equal((1, 10.0, 1, Path.GetFullPath(init)), (options.Channels, options.HeadLrMult, options.FreezeStages, options.Init));
        Assert.Equal(3, MobileOneCheckpoint.Load(Path.Combine(run, "last.pth.tar")).Model.Config.NumClasses);
        // A fused checkpoint cannot be fine-tuned.
        var fused = Path.Combine(pretrained, "fused.pth.tar");
        using (var model = MobileOneCheckpoint.Load(init).Model) using (var folded = MobileOne.Reparameterization.Reparameterizer.Fuse(model)) MobileOneCheckpoint.Save(folded, fused);
        AssertCleanError(Run("train", "--data", data, "--init", fused, "--out", Dir.File("nope")), 1, "the checkpoint is fused");
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void ShortTrainingOnAFashionMnistSubsetBeatsChanceByAWideMargin()
    {
        Fixtures.RequireFashionMnist();
        var run = Dir.File("e2e");
        var options = Options(epochs: 4, trainSubset: 2000, batch: 32) with { ValSubset = 500, Augment = AugmentPolicy.None, Lr = 0.05, EmaDecay = 0.98 };
        var result = ClassificationTask.Train(options, run, resume: false, new RecordingObserver());
        var last = result.History[^1];
        Assert.True(last.Val["top1"] > 0.6, $"validation top-1 {last.Val["top1"]:P1} after 4 epochs on 2,000 images (chance: 10 %)");
        Assert.True(result.BestScore > 0.6);
    }

    [SkippableFact]
    public void TrainAndEvalVerbs()
    {
        Fixtures.RequireFashionMnist();
        var config = Dir.File("tiny.json");
        File.WriteAllText(config, Tiny.ToJson());
        var run = Dir.File("cli-run");
        var r = Run("train", "--data", "fashion-mnist", "--config", config, "--epochs", "1", "--batch", "16", "--train-subset", "64", "--val-subset", "40", "--out", run, "--warmup-epochs", "0");
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("epoch 1:", r.Out);
        Assert.Contains("best validation top-1", r.Out);
        var e = Run("eval", "--data", "fashion-mnist", "--checkpoint", Path.Combine(run, "last.pth.tar"), "--subset", "300", "--json");
        Assert.True(e.Code == 0, e.Err);
        var json = System.Text.Json.JsonDocument.Parse(e.Out).RootElement;
        Assert.Equal(300, json.GetProperty("images").GetInt32());
        Assert.True(json.GetProperty("fused_agreement").GetDouble() >= 0.999);
        Assert.Equal(10, json.GetProperty("per_class").GetArrayLength());
        Assert.True(File.Exists(json.GetProperty("confusion_png").GetString()));
        // Resuming a finished run does nothing more and says so; a missing run is an error.
        Assert.Equal(0, Run("train", "--resume", run).Code);
        AssertCleanError(Run("train", "--resume", Dir.File("none")), 1, "nothing to resume");
        AssertCleanError(Run("train"), 2, "--data is required");
    }
}
