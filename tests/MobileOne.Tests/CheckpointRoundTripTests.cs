using MobileOne.Checkpoints;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Writing in each layout and format, then reading back, gives the same network.</summary>
public sealed class CheckpointRoundTripTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 2, 2, 1], [0.25, 0.25, 0.5, 0.5], true, 3, 10);

    public static TheoryData<CheckpointLayout, CheckpointFormat, bool> Cases()
    {
        var data = new TheoryData<CheckpointLayout, CheckpointFormat, bool>();
        foreach (var layout in Enum.GetValues<CheckpointLayout>())
            foreach (var format in Enum.GetValues<CheckpointFormat>())
                foreach (var fused in new[] { false, true })
                    data.Add(layout, format, fused);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WriteThenReadGivesIdenticalLogits(CheckpointLayout layout, CheckpointFormat format, bool fused)
    {
        using var scope = NewDisposeScope();
        var unfused = ModelFactory.Calibrated(Tiny, seed: 11);
        var model = fused ? Reparameterizer.Fuse(unfused) : unfused;
        var path = Dir.File($"model.{layout}.{(format == CheckpointFormat.Pth ? "pth.tar" : "safetensors")}");
        MobileOneCheckpoint.Save(model, path, layout, format);

        var loaded = MobileOneCheckpoint.Load(path);
        Assert.Equal(layout, loaded.Layout);
        Assert.Equal(format, loaded.Format);
        Assert.Equal(fused, loaded.Fused);
        Assert.Equal(Tiny.WithNumConvBranches(fused ? 1 : 3), loaded.Model.Config);
        var x = randn(2, 3, 48, 40, generator: new Generator(2));
        using var noGrad = no_grad();
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(model.forward(x), loaded.Model.forward(x)));
        // Every tensor, statistics included, survives bit for bit.
        var written = MobileOneCheckpoint.ToStateDict(model);
        var read = MobileOneCheckpoint.ToStateDict(loaded.Model);
        Assert.Equal(written.Keys, read.Keys);
        Assert.All(written, kv => Assert.Equal(kv.Value.Data, read[kv.Key].Data));
    }

    [Theory]
    [InlineData(TensorDType.Float16)]
    [InlineData(TensorDType.BFloat16)]
    [InlineData(TensorDType.Float64)]
    public void HalfAndDoublePrecisionCheckpointsLoadIntoFloat32Models(TensorDType dtype)
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Calibrated(Tiny, seed: 4);
        var state = MobileOneCheckpoint.ToStateDict(model);
        var converted = new StateDict(state.Select(kv =>
        {
            if (kv.Value.DType != TensorDType.Float32) return kv;
            using var t = kv.Value.ToTorch();
            using var c = t.to(dtype switch { TensorDType.Float16 => ScalarType.Float16, TensorDType.BFloat16 => ScalarType.BFloat16, _ => ScalarType.Float64 });
            var bytes = c.bytes.ToArray();
            return new KeyValuePair<string, CheckpointTensor>(kv.Key, new CheckpointTensor(dtype, kv.Value.Shape, bytes));
        }));
        var path = Dir.File($"half.{dtype}.safetensors");
        CheckpointFile.Write(path, converted, CheckpointFormat.Safetensors);
        var loaded = MobileOneCheckpoint.Load(path).Model;
        var x = randn(2, 3, 32, 32, generator: new Generator(5));
        using var noGrad = no_grad();
        var expected = model.forward(x);
        double tol = dtype == TensorDType.Float64 ? 1e-6 : 0.05 * Math.Max(1, expected.abs().max().item<float>());
        TensorAssert.Close(expected, loaded.forward(x), tol, dtype.ToString());
    }

    [Fact]
    public void AblationModelsWithoutScaleOrSkipBranchesAreRecognisedFromTheirKeys()
    {
        using var scope = NewDisposeScope();
        foreach (var (scale, skip) in new[] { (false, true), (true, false), (false, false) })
        {
            var config = Tiny.WithBranches(1, scale, skip);
            var model = ModelFactory.Calibrated(config, seed: 8);
            var path = Dir.File($"ablation_{scale}_{skip}.pth");
            MobileOneCheckpoint.Save(model, path);
            var loaded = MobileOneCheckpoint.Load(path);
            Assert.Equal(config, loaded.Model.Config);
            var x = randn(1, 3, 40, 40, generator: new Generator(1));
            using var noGrad = no_grad();
            TensorAssert.Close(model.forward(x), Reparameterizer.Fuse(loaded.Model).forward(x), 1e-5, $"scale={scale} skip={skip}");
        }
    }

    [Fact]
    public void StageStridesAreReadOffTheSkipBranchesWithoutAConfigurationFile()
    {
        // The quickstart's strides: the stem's (1) cannot be seen in the weights, the stages' can.
        using var scope = NewDisposeScope();
        var config = Tiny.WithInput(3, [1, 2, 2, 2, 1]);
        var model = ModelFactory.Calibrated(config, seed: 9);
        var path = Dir.File("strided.pth");
        MobileOneCheckpoint.Save(model, path);
        var loaded = MobileOneCheckpoint.Load(path).Model;
        Assert.Equal([2, 2, 2, 2, 1], loaded.Config.Strides);
        Assert.Contains(loaded.Blocks(), b => b.Name == "stage4.0" && b.Block.Spec.HasSkip);
        // The weights are the same: with the stem's stride given back, the outputs are the saved model's.
        var restrided = new MobileOneModel(config);
        restrided.load_state_dict(loaded.state_dict());
        restrided.eval();
        model.eval();
        var x = randn(1, 3, 32, 32, generator: new Generator(2));
        using var noGrad = no_grad();
        TensorAssert.Close(model.forward(x), restrided.forward(x), 1e-6, "re-strided");
    }

    [Fact]
    public void FusedCheckpointOfANamedVariantIsRecognised()
    {
        using var scope = NewDisposeScope();
        var path = Dir.File("s1.safetensors");
        MobileOneCheckpoint.Save(new MobileOneModel(MobileOneVariants.S1(), inferenceMode: true), path, CheckpointLayout.Timm);
        var loaded = MobileOneCheckpoint.Load(path);
        Assert.Equal("s1", loaded.Variant);
        Assert.Equal(MobileOneVariants.S1(), loaded.Model.Config);
    }

    [SkippableTheory]
    [InlineData(CheckpointLayout.Apple, CheckpointFormat.Pth, false)]
    [InlineData(CheckpointLayout.Apple, CheckpointFormat.Pth, true)]
    [InlineData(CheckpointLayout.Timm, CheckpointFormat.Pth, false)]
    [InlineData(CheckpointLayout.Timm, CheckpointFormat.Safetensors, true)]
    [InlineData(CheckpointLayout.MMPretrain, CheckpointFormat.Pth, true)]
    public void PyTorchReadsWhatIsWritten(CheckpointLayout layout, CheckpointFormat format, bool fused)
    {
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var unfused = ModelFactory.Calibrated(Tiny, seed: 3);
        var model = fused ? Reparameterizer.Fuse(unfused) : unfused;
        var path = Dir.File($"py.{layout}.{(format == CheckpointFormat.Pth ? "pth" : "safetensors")}");
        MobileOneCheckpoint.Save(model, path, layout, format);
        var expected = LayoutConverter.FromApple(MobileOneCheckpoint.ToStateDict(model), layout);
        var seen = PythonReference.Inspect(path);
        Assert.Equal(expected.Keys, seen.Select(s => s.Key));
        foreach (var (key, shape, dtype, sum) in seen)
        {
            var t = expected[key];
            Assert.Equal(t.Shape, shape);
            Assert.Equal(format == CheckpointFormat.Pth ? t.DType.DisplayName() : t.DType.ToSafetensors(), dtype);
            using var tt = t.ToTorch();
            double mine = tt.to(float64).sum().item<double>();
            Assert.True(Math.Abs(mine - sum) <= 1e-9 * Math.Max(1, Math.Abs(mine)), $"{key}: sum {sum} read by python, {mine} written");
        }
    }

    [SkippableFact]
    public void ReferenceCheckpointsReadIdenticallyToPyTorch()
    {
        Fixtures.Require();
        PythonReference.Require();
        var path = Fixtures.MobileOne("tiny_se_unfused.pth.tar");
        var ours = CheckpointFile.Read(path);
        var theirs = PythonReference.Inspect(path);
        Assert.Equal(theirs.Select(t => t.Key), ours.Keys);
        foreach (var (key, shape, dtype, sum) in theirs)
        {
            Assert.Equal(shape, ours[key].Shape);
            Assert.Equal(dtype, ours[key].DType.DisplayName());
            using var t = ours[key].ToTorch();
            Assert.Equal(sum, t.to(float64).sum().item<double>(), 9);
        }
    }
}
