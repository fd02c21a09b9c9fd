using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The parts of the paper's recipe against values computed by hand.</summary>
public class TrainingRecipeTests
{
    [Fact]
    public void LearningRateWarmsUpLinearlyThenFollowsTheCosine()
    {
        var s = new CosineSchedule(BaseLr: 0.1, MinLr: 0, WarmupSteps: 10, TotalSteps: 110, WeightDecayStart: 1e-4, WeightDecayEnd: 1e-5);
        Assert.Equal(0.01, s.LearningRate(0), 12);     // 0.1 * 1/10
        Assert.Equal(0.05, s.LearningRate(4), 12);     // 0.1 * 5/10
        Assert.Equal(0.1, s.LearningRate(10), 12);     // start of the cosine
        Assert.Equal(0.05, s.LearningRate(60), 12);    // half way: 0.1 * (1 + cos(pi/2)) / 2
        Assert.Equal(0.1 * (1 + Math.Cos(Math.PI / 4)) / 2, s.LearningRate(35), 12); // a quarter: 0.0853553...
        Assert.Equal(0.0, s.LearningRate(110), 12);
        var withMin = s with { MinLr = 0.001 };
        Assert.Equal(0.001 + 0.099 * 0.5, withMin.LearningRate(60), 12);
    }

    [Fact]
    public void AWarmUpLongerThanHalfTheRunIsClampedWithAWarning()
    {
        var warnings = new List<string>();
        // One epoch of 100 steps against five epochs of warm-up: the peak would never be reached.
        var s = CosineSchedule.ForRun(0.1, 0, warmupSteps: 500, totalSteps: 100, 1e-4, 1e-5, warnings.Add);
        Assert.Equal(50, s.WarmupSteps);
        Assert.Equal("the warm-up of 500 steps would take more than half of the 100-step run; it is shortened to 50 steps", Assert.Single(warnings));
        Assert.Equal(0.1, s.LearningRate(49), 12);   // the peak, at the end of the clamped warm-up
        Assert.Equal(0.05, s.LearningRate(75), 12);  // then half the cosine by three quarters of the run

        var kept = CosineSchedule.ForRun(0.1, 0, warmupSteps: 10, totalSteps: 110, 1e-4, 1e-5, warnings.Add);
        Assert.Equal(new CosineSchedule(0.1, 0, 10, 110, 1e-4, 1e-5), kept);
        Assert.Single(warnings);
    }

    [Fact]
    public void WeightDecayIsAnnealedOnTheSameCosine()
    {
        var s = new CosineSchedule(0.1, 0, 0, 100, 1e-4, 1e-5);
        Assert.Equal(1e-4, s.WeightDecay(0), 15);
        Assert.Equal(5.5e-5, s.WeightDecay(50), 15);  // 1e-5 + 9e-5 / 2
        Assert.Equal(1e-5, s.WeightDecay(100), 15);
        Assert.Equal(1e-5 + 9e-5 * (1 + Math.Cos(Math.PI * 0.25)) / 2, s.WeightDecay(25), 15);
    }

    [Fact]
    public void LabelSmoothingLossMatchesTheDefinition()
    {
        // logits (2, 1, 0), label 0, e = 0.1: log p = x - log(e^2 + e + 1)
        double lse = Math.Log(Math.Exp(2) + Math.Exp(1) + 1);
        double[] logp = [2 - lse, 1 - lse, 0 - lse];
        double expected = 0.9 * -logp[0] + 0.1 * -(logp.Sum() / 3);  // 0.4402...
        using var loss = LabelSmoothing.CrossEntropy(tensor(new float[] { 2, 1, 0 }, [1, 3]), tensor(new long[] { 0 }), 0.1);
        Assert.Equal(expected, loss.item<float>(), 5);
        // Without smoothing it is plain cross-entropy.
        using var plain = LabelSmoothing.CrossEntropy(tensor(new float[] { 2, 1, 0, 0, 3, 1 }, [2, 3]), tensor(new long[] { 0, 2 }), 0);
        using var reference = nn.functional.cross_entropy(tensor(new float[] { 2, 1, 0, 0, 3, 1 }, [2, 3]), tensor(new long[] { 0, 2 }));
        Assert.Equal(reference.item<float>(), plain.item<float>(), 6);
    }

    [Fact]
    public void EmaUpdateFollowsItsFormulaWithWarmup()
    {
        var config = new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 3);
        using var model = new MobileOneModel(config);
        using var ema = new ModelEma(model, 0.9995);
        var w0 = model.Linear.weight!.detach().clone();
        using (no_grad()) model.Linear.weight!.add_(1.0);
        var w1 = model.Linear.weight!.detach().clone();
        Assert.Equal(0.1, ema.DecayAt(0), 12);              // min(0.9995, 1/10)
        Assert.Equal(0.9995, ema.DecayAt(100_000), 12);
        ema.Update(0);
        var expected = w0 * 0.1 + w1 * 0.9;
        Assert.True(TensorAssert.MaxAbsDiff(expected, ((MobileOneModel)ema.Model).Linear.weight!) < 1e-6);
        ema.Update(1);                                     // d = 2/11
        expected = expected * (2.0 / 11) + w1 * (9.0 / 11);
        Assert.True(TensorAssert.MaxAbsDiff(expected, ((MobileOneModel)ema.Model).Linear.weight!) < 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SgdMatchesLibTorchsSgd(bool nesterov)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var a = nn.Parameter(randn(4, 3, generator: g));
        var b = nn.Parameter(a.detach().clone());
        var mine = new Sgd([("w", a)], momentum: 0.9, nesterov: nesterov, decayNormAndBias: true) { LearningRate = 0.1, WeightDecay = 0.01 };
        var theirs = optim.SGD([b], 0.1, momentum: 0.9, weight_decay: 0.01, nesterov: nesterov);
        for (int i = 0; i < 5; i++)
        {
            var grad = randn(4, 3, generator: g);
            a.grad = grad.clone();
            b.grad = grad.clone();
            mine.Step();
            theirs.step();
        }
        Assert.True(TensorAssert.MaxAbsDiff(a, b) < 1e-6, $"max diff {TensorAssert.MaxAbsDiff(a, b)}");
    }

    [Theory]
    [InlineData(1.0)]   // the gradients' norm (5) is scaled down to 1
    [InlineData(10.0)]  // a limit above the norm leaves them alone
    public void SgdClipsTheGradientsJointNormAsPyTorch(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var a = nn.Parameter(ones(2));
        var b = nn.Parameter(ones(1));
        var a2 = nn.Parameter(ones(2));
        var b2 = nn.Parameter(ones(1));
        var mine = new Sgd([("a", a), ("b", b)], momentum: 0.9, decayNormAndBias: true) { LearningRate = 0.1, WeightDecay = 0.01, MaxGradNorm = maxNorm };
        var theirs = optim.SGD([a2, b2], 0.1, momentum: 0.9, weight_decay: 0.01);
        for (int i = 0; i < 3; i++)
        {
            a.grad = tensor(new float[] { 3, 0 });
            b.grad = tensor(new float[] { 4 });
            a2.grad = a.grad.clone();
            b2.grad = b.grad.clone();
            nn.utils.clip_grad_norm_([a2, b2], maxNorm);
            mine.Step();
            theirs.step();
        }
        Assert.True(TensorAssert.MaxAbsDiff(a, a2) < 1e-6 && TensorAssert.MaxAbsDiff(b, b2) < 1e-6,
            $"max diff {TensorAssert.MaxAbsDiff(a, a2)}, {TensorAssert.MaxAbsDiff(b, b2)}");
    }

    [Fact]
    public void SgdByHand()
    {
        var p = nn.Parameter(tensor(new float[] { 1 }));
        var sgd = new Sgd([("w", p)], momentum: 0.9, decayNormAndBias: true) { LearningRate = 0.1, WeightDecay = 0.01 };
        p.grad = tensor(new float[] { 2 });
        sgd.Step();                                         // g = 2.01, buf = 2.01, p = 1 - 0.201
        Assert.Equal(0.799, p.item<float>(), 6);
        p.grad = tensor(new float[] { 2 });
        sgd.Step();                                         // g = 2.00799, buf = 0.9 * 2.01 + 2.00799 = 3.81699
        Assert.Equal(0.799 - 0.381699, p.item<float>(), 6);
    }

    [Fact]
    public void NormAndBiasParametersAreExcludedFromWeightDecayByDefault()
    {
        using var model = new MobileOneModel(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 2, 3));
        var named = model.named_parameters().ToList();
        var sgd = new Sgd(named);
        int oneDim = named.Count(p => p.parameter.dim() == 1);
        Assert.True(oneDim > 0);
        Assert.Equal((named.Count - oneDim, oneDim), sgd.GroupSizes);
        Assert.Equal((named.Count, 0), new Sgd(named, decayNormAndBias: true).GroupSizes);
    }

    [Theory]
    [InlineData("", 0.0, 224, 1.0)]
    [InlineData("160:0,192:0.33,224:0.66", 0.1, 160, 1 / 3.0)]
    [InlineData("160:0,192:0.33,224:0.66", 0.5, 192, 2 / 3.0)]
    [InlineData("160:0,192:0.33,224:0.66", 0.9, 224, 1.0)]
    public void ProgressiveResizingRaisesSizeAndStrength(string schedule, double fraction, int size, double strength)
    {
        var o = new TrainOptions { ResizeSchedule = schedule };
        var (s, st) = o.ProgressiveSettings(fraction);
        Assert.Equal(size, s);
        Assert.Equal(strength, st, 10);
    }

    [Theory]
    [InlineData("160:0.1", "must start at fraction 0")]
    [InlineData("160:0,128", "'128' is not SIZE:FRACTION")]
    [InlineData("160:0,192:0.5,224:0.4", "fractions must increase")]
    public void BadResizeSchedulesAreExplained(string schedule, string reason)
    {
        var message = Assert.Throws<MobileOneException>(() => new TrainOptions { ResizeSchedule = schedule }.Validated()).Message;
        Assert.Contains("resize schedule", message);
        Assert.Contains(reason, message);
        Assert.DoesNotContain("--", message);
    }

    [Fact]
    public void ConfigJsonHoldsTheModelAsAnObjectAndReadsOlderRunFolders()
    {
        var model = QuickstartModel.FashionMnist();
        var options = new TrainOptions { Model = model.ToJson(), Epochs = 3 };
        var json = options.ToJson();
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var written = doc.RootElement.GetProperty("model");
        Assert.Equal(System.Text.Json.JsonValueKind.Object, written.ValueKind);
        var back = TrainOptions.FromJson(json, "config.json");
        Assert.Equal(model, MobileOneConfig.FromJson(back.Model));
        Assert.Equal(json, back.ToJson());

        // Run folders written before stored the model as a string.
        var older = json.Replace(written.GetRawText(), System.Text.Json.JsonSerializer.Serialize(model.ToJson()));
        Assert.Equal(model, MobileOneConfig.FromJson(TrainOptions.FromJson(older, "config.json").Model));
        Assert.Contains("config.json: not a training configuration",
            Assert.Throws<MobileOneException>(() => TrainOptions.FromJson("{\"model\": [1, 2]}", "config.json")).Message);
    }
}
