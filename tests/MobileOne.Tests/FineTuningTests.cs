using MobileOne.Checkpoints;
using MobileOne.Classification;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Reparameterization;
using MobileOne.Training;
using TorchSharp;

namespace MobileOne.Tests;

/// <summary>
/// Fine-tuning from pretrained weights: real PyTorch checkpoints in every layout initialise a model, a
/// classifier of another class count starts afresh, bad checkpoints are refused by name, frozen stages stay
/// bit-identical, and the head's learning-rate factor scales its updates.
/// </summary>
public sealed class FineTuningTests : FileTest
{
    private static string TinySe => Fixtures.MobileOne("tiny_se_unfused.pth.tar");

    private static MobileOneConfig TinySeConfig(int classes) => MobileOneCheckpoint.Read(TinySe).Config.WithNumClasses(classes);

    /// <summary>The fixture, rewritten in <paramref name="layout"/> and <paramref name="extension"/>'s format.</summary>
    private string InLayout(CheckpointLayout layout, string extension)
    {
        var path = Dir.File($"tiny_se_{layout}{extension}");
        using var loaded = MobileOneCheckpoint.Load(TinySe).Model;
        MobileOneCheckpoint.Save(loaded, path, layout);
        return path;
    }

    private static void AssertLoaded(StateDict expected, MobileOneModel model, Func<string, bool> compared)
    {
        var actual = MobileOneCheckpoint.ToStateDict(model);
        int n = 0;
        foreach (var (key, tensor) in expected.Where(kv => compared(kv.Key)))
        {
            using var a = tensor.ToTorch();
            using var b = actual[key].ToTorch();
            Assert.True(a.equal(b).all().item<bool>(), $"{key} differs from the checkpoint");
            n++;
        }
        Assert.True(n > 50, $"only {n} tensors compared");
    }

    [Theory]
    [InlineData(CheckpointLayout.Apple, ".pth.tar")]
    [InlineData(CheckpointLayout.Timm, ".safetensors")]
    [InlineData(CheckpointLayout.MMPretrain, ".pth")]
    public void InitLoadsEveryLayoutAndStartsANewClassifierForAnotherClassCount(CheckpointLayout layout, string extension)
    {
        Fixtures.Require();
        var path = InLayout(layout, extension);
        var reference = MobileOneCheckpoint.Read(TinySe).Weights;
        var log = new List<string>();
        using var model = new MobileOneModel(TinySeConfig(3));
        FineTuning.LoadPretrained(model, path, seed: 1, log.Add);
        AssertLoaded(reference, model, k => !k.StartsWith("linear.", StringComparison.Ordinal));
        Assert.Equal([3L, model.Config.StageChannels(3)], model.Linear.weight!.shape);
        Assert.Contains("its classifier has 10 classes, the data 3", Assert.Single(log));

        // The same class count loads the classifier too.
        log.Clear();
        using var same = new MobileOneModel(TinySeConfig(10));
        FineTuning.LoadPretrained(same, path, seed: 1, log.Add);
        AssertLoaded(reference, same, _ => true);
        Assert.Contains("every weight loaded", Assert.Single(log));
    }

    [Fact]
    public void AFusedCheckpointIsRefusedWithItsReason()
    {
        Fixtures.Require();
        using var model = new MobileOneModel(TinySeConfig(3));
        var e = Assert.Throws<CheckpointException>(() => FineTuning.LoadPretrained(model, Fixtures.MobileOne("tiny_se.pth.tar"), 1, _ => { }));
        Assert.Contains("tiny_se.pth.tar: the checkpoint is fused", e.Message);
        Assert.Contains("fused", Assert.Throws<CheckpointException>(() => TrainOptions.ForRun("unused", init: Fixtures.MobileOne("tiny_se.pth.tar"))).Message);
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreErrorsNamingThem()
    {
        Fixtures.Require();
        var weights = MobileOneCheckpoint.Read(TinySe).Weights;
        var extra = new StateDict(weights) { ["stage1.0.extra.weight"] = weights["linear.bias"] };
        var extraPath = Dir.File("extra.pth.tar");
        CheckpointFile.Write(extraPath, extra, CheckpointFormat.Pth);
        var missing = new StateDict(weights.Where(kv => kv.Key != "stage2.0.rbr_scale.bn.running_var"));
        var missingPath = Dir.File("missing.pth.tar");
        CheckpointFile.Write(missingPath, missing, CheckpointFormat.Pth);

        using var model = new MobileOneModel(TinySeConfig(3));
        Assert.Contains("unexpected keys (1): stage1.0.extra.weight",
            Assert.Throws<CheckpointException>(() => FineTuning.LoadPretrained(model, extraPath, 1, _ => { })).Message);
        Assert.Contains("missing keys (1): stage2.0.rbr_scale.bn.running_var",
            Assert.Throws<CheckpointException>(() => FineTuning.LoadPretrained(model, missingPath, 1, _ => { })).Message);
    }

    [Fact]
    public void AnotherArchitectureOrChannelCountIsRefused()
    {
        Fixtures.Require();
        using var s0 = new MobileOneModel(MobileOneVariants.S0().WithNumClasses(3));
        Assert.Contains("differs from the one being trained",
            Assert.Throws<CheckpointException>(() => FineTuning.LoadPretrained(s0, TinySe, 1, _ => { })).Message);
        using var gray = new MobileOneModel(TinySeConfig(3).WithInput(1, MobileOneConfig.DefaultStrides));
        Assert.Contains("takes 3 input channel(s), the data pipeline produces 1",
            Assert.Throws<CheckpointException>(() => FineTuning.LoadPretrained(gray, TinySe, 1, _ => { })).Message);
    }

    [Fact]
    public void AVariantNamesTheArchitectureAndTheCheckpointTheClassCount()
    {
        Fixtures.Require();
        // A 10-class checkpoint loads under a configuration that says 1000 classes: the weights decide.
        var loaded = MobileOneCheckpoint.Load(TinySe, TinySeConfig(1000));
        Assert.Equal(10, loaded.Model.Config.NumClasses);
        // A 10-class S0 under --variant s0.
        var path = Dir.File("s0_10.pth.tar");
        using (var s0 = new MobileOneModel(MobileOneVariants.S0().WithNumClasses(10))) MobileOneCheckpoint.Save(s0, path);
        var back = MobileOneCheckpoint.Load(path, MobileOneVariants.S0());
        Assert.Equal(10, back.Model.Config.NumClasses);
        Assert.Equal("s0", back.Variant);
    }

    [Fact]
    public void TheHeadLearningRateFactorScalesItsUpdate()
    {
        // Two copies of one model take one step on one batch, one with the head's factor at 4: the first SGD
        // step moves a weight by lr x factor x gradient, so the head moves 4 times as far and the body as far.
        using var x = torch.randn(2, 3, 32, 32, generator: new torch.Generator(3));
        (torch.Tensor Head, torch.Tensor Body) Delta(double headFactor)
        {
            using var model = new MobileOneModel(TinySeConfig(3));
            WeightInit.Reset(model, 5);
            model.eval();
            var head = model.Linear.weight!.detach().clone();
            var body = model.Stem.parameters().First().detach().clone();
            using var sgd = new Sgd(model.named_parameters(), momentum: 0.9, lrScale: n => n.StartsWith("linear.", StringComparison.Ordinal) ? headFactor : 1)
                { LearningRate = 0.1 };
            TrainingStep.Take(sgd, () => model.forward(x).square().mean());
            return (model.Linear.weight!.detach() - head, model.Stem.parameters().First().detach() - body);
        }
        var (head1, body1) = Delta(1);
        var (head4, body4) = Delta(4);
        Assert.True(head1.abs().max().item<float>() > 0, "the head did not move");
        Assert.True((head4 - 4 * head1).abs().max().item<float>() <= 1e-6 * Math.Max(1, head4.abs().max().item<float>()));
        Assert.True(body4.equal(body1).all().item<bool>(), "the body's update changed with the head's factor");
    }
}
