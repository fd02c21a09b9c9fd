using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The feature pyramid and output strides 16 and 8 by dilation: shapes, exact fusion, ONNX, profile, CLI.</summary>
public sealed class FeaturePyramidTests(ITestOutputHelper output) : FileTest
{
    // k = 2, scale and skip branches, SE in stages 3-4; two pairs in the dilated stages, so each has a block
    // whose stride was removed and a block that had a skip branch anyway.
    private static MobileOneConfig Small(int outputStride) =>
        new MobileOneConfig([1, 1, 2, 2], [0.25, 0.25, 0.25, 0.25], useSe: true, numConvBranches: 2, numClasses: 5).WithOutputStride(outputStride);

    private static int Ceil(int size, int stride) => (size + stride - 1) / stride;

    [Theory]
    [InlineData(32, new[] { 2, 4, 8, 16, 32 }, new[] { 1, 1, 1, 1, 1 })]
    [InlineData(16, new[] { 2, 4, 8, 16, 16 }, new[] { 1, 1, 1, 1, 2 })]
    [InlineData(8, new[] { 2, 4, 8, 8, 8 }, new[] { 1, 1, 1, 2, 4 })]
    public void EveryLevelHasItsShapeAndStrideAtOddSizes(int outputStride, int[] strides, int[] dilations)
    {
        using var scope = NewDisposeScope();
        var config = Small(outputStride);
        var model = new MobileOneModel(config);
        model.eval();
        var levels = model.FeatureLevels;
        Assert.Equal(["stem", "stage1", "stage2", "stage3", "stage4"], levels.Select(l => l.Name));
        Assert.Equal(strides, levels.Select(l => l.Stride));
        Assert.Equal(dilations, levels.Select(l => l.Dilation));
        Assert.Equal([16, 16, 32, 64, 128], levels.Select(l => l.Channels));
        Assert.Equal(outputStride, config.OutputStride);

        const int h = 97, w = 131;
        using var noGrad = no_grad();
        var maps = model.ForwardPyramid(randn(2, 3, h, w, generator: new Generator(1)));
        var profile = ModelProfile.Compute(config, h, w);
        for (int i = 0; i < levels.Count; i++)
        {
            long[] expected = [2, levels[i].Channels, Ceil(h, levels[i].Stride), Ceil(w, levels[i].Stride)];
            Assert.Equal(expected, maps[i].Tensor.shape);
            Assert.Equal(levels[i], maps[i].Level);
            // The profile knows the same sizes and strides without running the network.
            Assert.Equal((levels[i].Name, levels[i].Stride, (int)expected[2], (int)expected[3]),
                (profile.Stages[i].Name, profile.Stages[i].Stride, profile.Stages[i].OutputHeight, profile.Stages[i].OutputWidth));
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    public void FusedEqualsUnfusedUnderDilation(int outputStride)
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Calibrated(Small(outputStride), seed: outputStride);
        var fused = Reparameterizer.Fuse(model);
        var x = randn(2, 3, 97, 131, generator: new Generator(5));
        using var noGrad = no_grad();
        var expected = model.ForwardPyramid(x);
        var actual = fused.ForwardPyramid(x);
        foreach (var (e, a) in expected.Zip(actual))
            TensorAssert.Close(e.Tensor, a.Tensor, 1e-4 * Math.Max(1, e.Tensor.abs().max().item<float>()), $"OS {outputStride} {e.Name}");
        TensorAssert.Close(model.forward(x), fused.forward(x), 1e-4, $"OS {outputStride} logits");

        // The folded conv carries the dilation; the first block of stage 4 keeps the stride-2 design's branch set.
        int d = outputStride == 16 ? 2 : 4;
        var stage4 = fused.Blocks().Where(b => b.Name.StartsWith("stage4.")).Select(b => b.Block.ReparamConv!).ToList();
        Assert.Equal([d, d], stage4[0].dilation);
        Assert.Equal([d, d], stage4[0].padding!);
        Assert.Equal([1, 1], stage4[0].stride);
        Assert.Equal([1, 1], stage4[1].dilation); // pointwise: nothing to dilate
        var trainStage4 = model.Blocks().Where(b => b.Name.StartsWith("stage4.")).Select(b => b.Block).ToList();
        Assert.Null(trainStage4[0].Skip);
        Assert.True(trainStage4[0].Spec.StrideRemoved);
        Assert.NotNull(trainStage4[2].Skip);
        Assert.Equal([1, 1], trainStage4[0].Scale!.Conv.dilation);
    }

    [Fact]
    public void TheScaleBranchPaddedToADilatedKernelIsItsCentreTap()
    {
        using var scope = NewDisposeScope();
        const int d = 3;
        var g = new Generator(11);
        var x = randn(1, 4, 23, 19, generator: g);
        var w1 = randn(4, 1, 1, 1, generator: g);
        var w3 = nn.functional.pad(w1, [1, 1, 1, 1]);
        var oneByOne = nn.functional.conv2d(x, w1, groups: 4);
        var dilated = nn.functional.conv2d(x, w3, padding: [d, d], dilation: [d, d], groups: 4);
        Assert.Equal(0, TensorAssert.MaxAbsDiff(oneByOne, dilated));

        // And so the whole block (k conv branches, scale, skip) folds exactly at dilation 3.
        var block = ModelFactory.Calibrate(new MobileOneBlock(new MobileOneBlockSpec(16, 16, 3, 1, 16, 2, UseSe: true, Dilation: d)), seed: 4);
        block.eval();
        Assert.NotNull(block.Scale);
        Assert.NotNull(block.Skip);
        var fused = Reparameterizer.FuseBlock(block);
        var input = randn(2, 16, 21, 17, generator: g);
        using var noGrad = no_grad();
        TensorAssert.Close(block.forward(input), fused.forward(input), 1e-5, "dilated block");
    }

    [Fact]
    public void ChangingTheOutputStrideKeepsTheWeights()
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Calibrated(Small(32), seed: 3);
        var dilated = model.WithOutputStride(8);
        Assert.Equal(model.state_dict().Keys, dilated.state_dict().Keys);
        Assert.Equal(8, dilated.Config.OutputStride);
        Assert.False(dilated.training);
        var x = randn(1, 3, 64, 64, generator: new Generator(2));
        using var noGrad = no_grad();
        var a = model.ForwardPyramid(x);
        var b = dilated.ForwardPyramid(x);
        for (int i = 0; i < 3; i++) Assert.Equal(0, TensorAssert.MaxAbsDiff(a[i].Tensor, b[i].Tensor)); // undilated levels
        Assert.Equal([1, 128, 8, 8], b[4].Tensor.shape);
    }

    [Fact]
    public void DilatedExportWritesDilationsAndPadsAndMatchesOnnxRuntime()
    {
        using var scope = NewDisposeScope();
        var fused = Reparameterizer.Fuse(ModelFactory.Calibrated(Small(16), seed: 9));
        var options = new OnnxExportOptions { DynamicSpatial = true };
        var proto = MobileOne.Export.Onnx.ModelProto.Parser.ParseFrom(OnnxExporter.ToBytes(fused, options));
        long[] Attr(MobileOne.Export.Onnx.NodeProto n, string name) => [.. n.Attribute.Single(a => a.Name == name).Ints];
        var dilatedConvs = proto.Graph.Node.Where(n => n.OpType == "Conv" && Attr(n, "dilations").SequenceEqual([2L, 2L])).ToList();
        Assert.Equal(2, dilatedConvs.Count); // the two depthwise blocks of stage 4
        Assert.All(dilatedConvs, n => Assert.Equal([2L, 2L, 2L, 2L], Attr(n, "pads")));
        Assert.All(dilatedConvs, n => Assert.Equal([1L, 1L], Attr(n, "strides")));

        var path = Dir.File("os16.onnx");
        OnnxExporter.Export(fused, path, options);
        OnnxParity.AssertRunsLikeTorch(fused, path, 2, 97, 131, output);
    }

    [Fact]
    public void ProfileCountsDilatedStagesAtTheirKeptSize()
    {
        // Without SE every MAC is per output pixel, so stage 4 at output stride 16 costs exactly 4 times as much.
        var plain = new MobileOneConfig([1, 1, 2, 2], [0.25, 0.25, 0.25, 0.25], numConvBranches: 2);
        var os32 = ModelProfile.Compute(plain, 224, 224);
        var os16 = ModelProfile.Compute(plain.WithOutputStride(16), 224, 224);
        Assert.Equal((7, 7), (os32.Stages[4].OutputHeight, os32.Stages[4].OutputWidth));
        Assert.Equal((14, 14), (os16.Stages[4].OutputHeight, os16.Stages[4].OutputWidth));
        Assert.Equal(4 * os32.Stages[4].MacsFused, os16.Stages[4].MacsFused);
        Assert.Equal(4 * os32.Stages[4].MacsUnfused, os16.Stages[4].MacsUnfused);
        Assert.Equal(os32.Stages[3].MacsFused, os16.Stages[3].MacsFused);
        Assert.Equal(os32.ParamsUnfused, os16.ParamsUnfused); // the branch set is kept
    }

    [Theory]
    [InlineData(12)]
    [InlineData(4)]
    [InlineData(64)]
    public void ABadOutputStrideIsRefused(int outputStride)
    {
        var e = Assert.Throws<MobileOneException>(() => MobileOneVariants.Get("s0").WithOutputStride(outputStride));
        Assert.Equal($"output_stride must be 8, 16 or 32, found {outputStride}", e.Message);
        var json = Assert.Throws<MobileOneException>(() => MobileOneConfig.FromJson($"{{\"variant\": \"s0\", \"output_stride\": {outputStride}}}"));
        Assert.Contains("output_stride must be 8, 16 or 32", json.Message);
        // The pipeline refuses it before touching its (here missing) files.
        var run = Assert.Throws<MobileOneException>(() => FeatureExtraction.Run(Dir.File("none.pth"), Dir.File("none.npy"), Dir.File("out"), outputStride: outputStride));
        Assert.Contains("output_stride must be 8, 16 or 32", run.Message);
    }

    [Fact]
    public void TheOutputStrideRoundTripsThroughJson()
    {
        var config = MobileOneConfig.FromJson("{\"variant\": \"s1\", \"output_stride\": 8}");
        Assert.Equal(8, config.MaxOutputStride);
        Assert.Equal(8, config.OutputStride);
        var back = MobileOneConfig.FromJson(config.ToJson());
        Assert.Equal(config, back);
        Assert.NotEqual(MobileOneVariants.Get("s1"), back);
        Assert.Contains("output stride 8", back.ToString());
    }

    [SkippableFact]
    public void EveryStageEqualsTheReferenceNetworksAtOutputStride32()
    {
        Fixtures.Require();
        PythonReference.Require();
        var checkpoint = Fixtures.MobileOne("mobileone_s0_unfused.pth.tar");
        var input = Fixtures.MobileOne("mobileone_s0_input.npy");
        var s0 = MobileOneVariants.S0();
        var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "mobileone_stages.py");
        var (code, _, error) = PythonReference.Run(script, checkpoint, input, Dir.Path,
            $"[{string.Join(",", s0.NumBlocksPerStage)}]", $"[{string.Join(",", s0.WidthMultipliers.Select(w => w.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]",
            s0.NumConvBranches.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(code == 0, error);

        using var scope = NewDisposeScope();
        var loaded = MobileOneCheckpoint.Load(checkpoint);
        using var noGrad = no_grad();
        var maps = loaded.Model.ForwardPyramid(NpyFile.Read(input));
        for (int s = 0; s < 5; s++)
        {
            // float32 sums in another order: the difference grows with the activations' size (stage3's reach ~10^1).
            var expected = NpyFile.Read(Dir.File($"stage{s}.npy"));
            double scale = Math.Max(1, expected.abs().max().item<float>());
            double diff = TensorAssert.Close(expected, maps[s].Tensor, 1e-4 * scale, $"stage{s} against PyTorch");
            output.WriteLine($"stage{s}: max |x| {scale:G4}, max abs diff {diff:E2}");
        }
    }

    [SkippableFact]
    public void TheStage4MapOfTheReferenceGivesItsLogits()
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        var loaded = MobileOneCheckpoint.Load(Fixtures.MobileOne("mobileone_s0_unfused.pth.tar"));
        var x = NpyFile.Read(Fixtures.MobileOne("mobileone_s0_input.npy"));
        using var noGrad = no_grad();
        var maps = loaded.Model.ForwardPyramid(x);
        Assert.Equal([2, 4, 8, 16, 32], maps.Select(m => m.Stride));
        var logits = loaded.Model.Linear.call(maps[^1].Tensor.mean([2, 3]));
        TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne("mobileone_s0_logits.npy")), logits, 1e-4, "stage4 -> pool -> linear");
    }

    [SkippableFact]
    public void TheFeaturesVerbWritesEveryLevel()
    {
        Fixtures.Require();
        var outDir = Path.Combine(Dir.Path, "features", "s0");
        var input = Fixtures.MobileOne("mobileone_s0_input.npy");
        var r = CliTests.Run("features", "--checkpoint", Fixtures.MobileOne("mobileone_s0_unfused.pth.tar"), "--input", input,
            "--output-dir", outDir, "--output-stride", "16", "--fuse");
        Assert.True(r.Code == 0, r.Err);
        using var scope = NewDisposeScope();
        var x = NpyFile.Read(input);
        int n = (int)x.shape[0], h = (int)x.shape[2], w = (int)x.shape[3];
        var levels = MobileOneVariants.Get("s0").WithOutputStride(16).FeatureLevels();
        foreach (var level in levels)
        {
            using var map = NpyFile.Read(Path.Combine(outDir, level.Name + ".npy"));
            Assert.Equal([n, level.Channels, Ceil(h, level.Stride), Ceil(w, level.Stride)], map.shape);
            Assert.Contains($"{level.Name,-7} [{string.Join(", ", map.shape)}]  stride {level.Stride}", r.Out);
        }
        Assert.Equal(5, Directory.GetFiles(outDir).Length);
        Assert.Contains("output stride 16", r.Out);
    }

    [Fact]
    public void TheFeaturesVerbRefusesABadOutputStride()
    {
        var r = CliTests.Run("features", "--checkpoint", Dir.File("c.pth"), "--input", Dir.File("x.npy"), "--output-dir", Dir.Path, "--output-stride", "12");
        CliTests.AssertCleanError(r, 2, "--output-stride must be 8, 16 or 32, found 12");
    }
}
