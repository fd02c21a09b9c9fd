using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Outputs of Apple's reference (PyTorch) on the fixtures, reproduced here.</summary>
public class FixtureParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [SkippableTheory]
    [InlineData("mobileone_s0", false)]
    [InlineData("mobileone_s0", true)]
    [InlineData("tiny_se", false)]
    [InlineData("tiny_se", true)]
    public void CheckpointReproducesReferenceLogits(string name, bool fused)
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        var loaded = MobileOneCheckpoint.Load(Fixtures.MobileOne(fused ? $"{name}.pth.tar" : $"{name}_unfused.pth.tar"));
        Assert.Equal(fused, loaded.Fused);
        Assert.Equal(CheckpointLayout.Apple, loaded.Layout);
        using var noGrad = no_grad();
        var logits = loaded.Model.forward(NpyFile.Read(Fixtures.MobileOne($"{name}_input.npy")));
        var reference = NpyFile.Read(Fixtures.MobileOne(fused ? $"{name}_fused_logits.npy" : $"{name}_logits.npy"));
        var diff = TensorAssert.Close(reference, logits, Tolerance, name);
        output.WriteLine($"{name} {(fused ? "fused" : "unfused")} checkpoint vs reference: {diff:E3}");
    }

    [SkippableTheory]
    [InlineData("mobileone_s0")]
    [InlineData("tiny_se")]
    public void ReparameterisedModelMatchesReferenceAndItsOwnUnfusedForm(string name)
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        var unfused = MobileOneCheckpoint.Load(Fixtures.MobileOne($"{name}_unfused.pth.tar")).Model;
        var fused = Reparameterizer.Fuse(unfused);
        Assert.True(fused.IsFused);
        var input = NpyFile.Read(Fixtures.MobileOne($"{name}_input.npy"));
        using var noGrad = no_grad();
        var ours = fused.forward(input);
        var d1 = TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne($"{name}_fused_logits.npy")), ours, Tolerance, "vs reference fused");
        var d2 = TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne($"{name}_logits.npy")), ours, Tolerance, "vs reference unfused");
        var d3 = TensorAssert.Close(unfused.forward(input), ours, Tolerance, "vs our unfused");
        // The fused weights themselves equal the reference's reparameterised checkpoint.
        var reference = CheckpointFile.Read(Fixtures.MobileOne($"{name}.pth.tar"));
        var mine = MobileOneCheckpoint.ToStateDict(fused);
        Assert.Equal(reference.Keys, mine.Keys);
        double worst = 0;
        foreach (var (key, t) in reference)
        {
            using var a = t.ToTorch();
            using var b = mine[key].ToTorch();
            worst = Math.Max(worst, TensorAssert.MaxAbsDiff(a, b));
        }
        Assert.True(worst < 1e-5, $"fused weights differ from the reference's by {worst:E3}");
        output.WriteLine($"{name} our fused vs reference fused {d1:E3}, vs reference unfused {d2:E3}, vs our unfused {d3:E3}; weights {worst:E3}");
    }
}
