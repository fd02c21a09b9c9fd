using MobileOne.Checkpoints;
using MobileOne.Data;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>One training-mode step of the tiny SE configuration against the reference.</summary>
public class TrainingStepTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void TrainModeLogitsLossAndGradientsMatchTheReference()
    {
        Fixtures.Require();
        var json = Fixtures.Json("tiny_se.json");
        using var scope = NewDisposeScope();
        var model = MobileOneCheckpoint.Load(Fixtures.MobileOne("tiny_se_unfused.pth.tar")).Model;
        model.train();
        var input = NpyFile.Read(Fixtures.MobileOne("tiny_se_input.npy"));
        var logits = model.forward(input);
        var dLogits = TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne("tiny_se_train_logits.npy")), logits, 1e-4, "train-mode logits");

        var labels = tensor(json.GetProperty("train_labels").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        var loss = nn.functional.cross_entropy(logits, labels);
        double dLoss = Math.Abs(loss.item<float>() - json.GetProperty("train_loss").GetDouble());
        Assert.True(dLoss < 1e-5, $"loss differs by {dLoss:E3}");
        loss.backward();

        var stats = json.GetProperty("train_grad_stats");
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(stats.EnumerateObject().Select(p => p.Name).Order(), parameters.Keys.Order());
        double worstRel = 0;
        foreach (var p in stats.EnumerateObject())
        {
            var g = parameters[p.Name].grad ?? throw new Xunit.Sdk.XunitException($"{p.Name} has no gradient");
            double absSum = p.Value.GetProperty("abs_sum").GetDouble();
            double l2 = p.Value.GetProperty("l2").GetDouble();
            double sum = p.Value.GetProperty("sum").GetDouble();
            double myAbsSum = g.abs().sum().item<float>(), myL2 = g.norm().item<float>(), mySum = g.sum().item<float>();
            // Relative to the gradient's magnitude (a signed sum may cancel, so it is scaled by abs_sum); float32
            // gradients through 13 blocks of BatchNorm in train mode differ by ~1e-4 relative between conv backends.
            double rel = Math.Max(Math.Abs(myAbsSum - absSum) / Math.Max(absSum, 1e-12),
                Math.Max(Math.Abs(myL2 - l2) / Math.Max(l2, 1e-12), Math.Abs(mySum - sum) / Math.Max(absSum, 1e-12)));
            Assert.True(rel < 1e-3, $"{p.Name}: gradient stats differ (sum {mySum} vs {sum}, abs_sum {myAbsSum} vs {absSum}, l2 {myL2} vs {l2})");
            worstRel = Math.Max(worstRel, rel);
        }
        output.WriteLine($"train logits {dLogits:E3}, loss {dLoss:E3}, worst relative gradient-statistic error {worstRel:E3} over {parameters.Count} parameters");
    }
}
