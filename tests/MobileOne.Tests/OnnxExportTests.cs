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

/// <summary>ONNX files written from C#: accepted by onnx.checker, and ONNX Runtime computes what TorchSharp does.</summary>
public sealed class OnnxExportTests(ITestOutputHelper output) : FileTest
{
    private static float[] RandomInput(int n, int h, int w, int seed)
    {
        using var x = randn(n, 3, h, w, generator: new Generator((ulong)seed));
        return x.data<float>().ToArray();
    }

    private double CompareOnnxWithTorch(MobileOneModel fused, string path, int n, int h, int w)
    {
        var input = RandomInput(n, h, w, seed: h * w);
        using var onnx = new OnnxEngine(path, threads: 2);
        var ort = onnx.Run(input, n, h, w);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var expected = fused.forward(tensor(input, [n, 3, h, w]));
        var diff = TensorAssert.Close(expected, tensor(ort, [n, fused.Config.NumClasses]), 1e-4, Path.GetFileName(path));
        output.WriteLine($"{Path.GetFileName(path)} {n}x3x{h}x{w}: max |ORT - TorchSharp| = {diff:E3} (logits up to {expected.abs().max().item<float>():G3})");
        return diff;
    }

    public static TheoryData<string> Variants => new(MobileOneVariants.Names);

    [SkippableTheory]
    [MemberData(nameof(Variants))]
    public void VariantsExportToCheckedOnnxThatMatchesTorchSharp(string variant)
    {
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var fused = Reparameterizer.Fuse(ModelFactory.Calibrated(MobileOneVariants.Get(variant), seed: 1, size: 224));
        var fixedPath = Dir.File($"{variant}.onnx");
        OnnxExporter.Export(fused, fixedPath);
        AssertOnnxCheckerAccepts(fixedPath);
        CompareOnnxWithTorch(fused, fixedPath, 1, 224, 224);

        var dynamicPath = Dir.File($"{variant}_dynamic.onnx");
        OnnxExporter.Export(fused, dynamicPath, new OnnxExportOptions { DynamicSpatial = true });
        AssertOnnxCheckerAccepts(dynamicPath);
        CompareOnnxWithTorch(fused, dynamicPath, 2, 160, 97);
    }

    [SkippableTheory]
    [InlineData("mobileone_s0")]
    [InlineData("tiny_se")]
    public void FixtureCheckpointsExportAndReproduceTheReferenceLogits(string name)
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        var loaded = MobileOneCheckpoint.Load(Fixtures.MobileOne($"{name}_unfused.pth.tar"));
        var path = Dir.File($"{name}.onnx");
        OnnxExporter.ExportFused(loaded.Model, path, new OnnxExportOptions { DynamicSpatial = true });
        var input = NpyFile.Read(Fixtures.MobileOne($"{name}_input.npy"));
        var (n, h, w) = ((int)input.shape[0], (int)input.shape[2], (int)input.shape[3]);
        using var onnx = new OnnxEngine(path);
        var logits = tensor(onnx.Run(input.data<float>().ToArray(), n, h, w), [n, loaded.Model.Config.NumClasses]);
        var diff = TensorAssert.Close(NpyFile.Read(Fixtures.MobileOne($"{name}_fused_logits.npy")), logits, 1e-4, name);
        output.WriteLine($"{name}: ONNX Runtime vs reference fused logits {diff:E3}");
        var fused = Reparameterizer.Fuse(loaded.Model);
        CompareOnnxWithTorch(fused, path, 1, 67, 45);
    }

    [Fact]
    public void FusedGraphHoldsOnlyInferenceOperatorsAndRecordsMetadata()
    {
        using var scope = NewDisposeScope();
        var config = new MobileOneConfig([1, 2, 2, 1], [0.25, 0.25, 0.5, 0.5], true, 3, 10);
        var model = ModelFactory.Calibrated(config, seed: 2);
        var proto = OnnxExporter.Build(Reparameterizer.Fuse(model), new OnnxExportOptions { InputHeight = 96, InputWidth = 128 });
        var ops = proto.Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Subset(new HashSet<string> { "Conv", "Relu", "GlobalAveragePool", "Sigmoid", "Mul", "Flatten", "Gemm" }, ops);
        Assert.DoesNotContain("BatchNormalization", ops);
        // Every block is exactly one Conv (+ SE), and every weight is an initializer.
        Assert.Equal(model.Blocks().Count() + 2 * model.Blocks().Count(b => b.Block.Se is not null), proto.Graph.Node.Count(n => n.OpType == "Conv"));
        Assert.All(proto.Graph.Node.Where(n => n.OpType == "Conv"), n => Assert.Equal(3, n.Input.Count));
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("96x128", meta["input_size"]);
        Assert.Equal("10", meta["num_classes"]);
        Assert.Equal("0.485,0.456,0.406", meta["mean"]);
        Assert.Equal("custom", meta["variant"]);
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        Assert.Equal(96, proto.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimValue);
        Assert.Equal("batch", proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
    }

    [Fact]
    public void UnfusedGraphRunsTheBranchesAndAgrees()
    {
        using var scope = NewDisposeScope();
        var config = new MobileOneConfig([1, 1, 2, 1], [0.25, 0.5, 0.5, 0.5], true, 2, 6);
        var model = ModelFactory.Calibrated(config, seed: 9);
        var path = Dir.File("unfused.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { DynamicSpatial = true });
        var proto = OnnxExporter.Build(model);
        Assert.Contains(proto.Graph.Node, n => n.OpType == "Sum");
        Assert.Contains(proto.Graph.Node, n => n.OpType == "BatchNormalization");
        CompareOnnxWithTorch(model, path, 2, 64, 48);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(22)]
    public void UnsupportedOpsetIsRefused(int opset)
    {
        using var model = new MobileOneModel(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 2), inferenceMode: true);
        var e = Assert.Throws<MobileOneException>(() => OnnxExporter.Build(model, new OnnxExportOptions { Opset = opset }));
        Assert.Contains($"opset {opset} is not supported", e.Message);
    }

    [SkippableTheory]
    [InlineData(13)]
    [InlineData(17)]
    public void OtherOpsetsAreValidToo(int opset)
    {
        PythonReference.Require();
        using var model = new MobileOneModel(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], true, 1, 2), inferenceMode: true);
        var path = Dir.File($"opset{opset}.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { Opset = opset });
        AssertOnnxCheckerAccepts(path);
        using var engine = new OnnxEngine(path);
        Assert.Equal(2, engine.NumClasses);
    }

    [Fact]
    public void CorruptOrMissingOnnxFilesGetClearErrors()
    {
        var path = Dir.File("corrupt.onnx");
        using (var model = new MobileOneModel(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 2), inferenceMode: true))
            OnnxExporter.Export(model, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Contains("not a valid ONNX model", Assert.Throws<MobileOneException>(() => new OnnxEngine(path)).Message);
        Assert.Contains("ONNX file not found", Assert.Throws<MobileOneException>(() => new OnnxEngine(Dir.File("none.onnx"))).Message);
        File.WriteAllText(path, "hello");
        Assert.Contains(path, Assert.Throws<MobileOneException>(() => new OnnxEngine(path)).Message);
    }

    [Fact]
    public void FixedSizeGraphRefusesOtherSizes()
    {
        var path = Dir.File("fixed.onnx");
        using (var model = new MobileOneModel(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 2), inferenceMode: true))
            OnnxExporter.Export(model, path, new OnnxExportOptions { InputHeight = 64, InputWidth = 64 });
        using var engine = new OnnxEngine(path);
        Assert.Equal(64, engine.FixedHeight);
        Assert.Contains("export it with dynamic height and width", Assert.Throws<MobileOneException>(() => engine.Run(new float[3 * 32 * 32], 1, 32, 32)).Message);
    }

    internal static void AssertOnnxCheckerAccepts(string path)
    {
        var (code, _, error) = PythonReference.Run("-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path);
        Assert.True(code == 0, $"onnx.checker rejected {path}: {error}");
    }
}
