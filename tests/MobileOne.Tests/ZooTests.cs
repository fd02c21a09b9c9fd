using System.Text.Json;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Zoo;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>
/// torchvision's own definitions (Debian's python3-torchvision) run once per test class: for each
/// network its seeded weights, an input, its logits, its parameter count, MACs and state-dict keys.
/// </summary>
public sealed class TorchvisionReference : IDisposable
{
    public static readonly string[] Names =
        ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "mnasnet1_0", "resnet18"];

    private readonly TempDir dir = new();
    private readonly Lazy<string?> error;

    public TorchvisionReference()
    {
        error = new(() =>
        {
            if (PythonReference.Run("-c", "import torchvision").ExitCode != 0) return "torchvision";
            var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "torchvision_reference.py");
            var (code, _, stderr) = PythonReference.Run([script, dir.Path, .. Names]);
            return code == 0 ? null : stderr;
        });
    }

    /// <summary>The folder with NAME/{weights.pth, input.npy, logits.npy, info.json}.</summary>
    public string Folder(string name)
    {
        PythonReference.Require();
        if (error.Value == "torchvision")
        {
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
                throw new InvalidOperationException("python3-torchvision is missing in CI; .ci/run installs it");
            Skip.If(true, "Debian's python3-torchvision is not installed (apt-get install python3-torchvision)");
        }
        Assert.True(error.Value is null, $"torchvision_reference.py failed: {error.Value}");
        return Path.Combine(dir.Path, name);
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>The zoo: torchvision parity, counts against the papers, ONNX export checked and run.</summary>
public sealed class ZooTests(TorchvisionReference reference, ITestOutputHelper output) : FileTest, IClassFixture<TorchvisionReference>
{
    public static TheoryData<string> TorchvisionNames => new(TorchvisionReference.Names);

    [SkippableTheory]
    [MemberData(nameof(TorchvisionNames))]
    public void NetworkEqualsTorchvisionsDefinition(string name)
    {
        var folder = reference.Folder(name);
        using var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "info.json")));
        using var scope = NewDisposeScope();
        var net = NetworkZoo.Get(name).Create();

        // Same state-dict keys and shapes, in PyTorch's order.
        var expectedKeys = info.RootElement.GetProperty("keys").EnumerateArray()
            .Select(k => $"{k[0].GetString()} {CheckpointTensor.FormatShape(k[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())}").ToList();
        var ours = MobileOneCheckpoint.ToStateDict(net).Select(kv => $"{kv.Key} {CheckpointTensor.FormatShape(kv.Value.Shape)}").ToList();
        Assert.Equal(expectedKeys, ours);

        var counts = NetworkCost.Measure(net);
        Assert.Equal(info.RootElement.GetProperty("params").GetInt64(), counts.Params);
        Assert.Equal(info.RootElement.GetProperty("macs").GetInt64(), counts.Macs);

        // torchvision's weights give torchvision's logits.
        MobileOneCheckpoint.LoadInto(net, CheckpointFile.Read(Path.Combine(folder, "weights.pth")), name);
        net.eval();
        var x = NpyFile.Read(Path.Combine(folder, "input.npy"));
        var expected = NpyFile.Read(Path.Combine(folder, "logits.npy"));
        Tensor actual;
        using (no_grad()) actual = net.forward(x);
        var diff = TensorAssert.Close(expected, actual, 1e-4 * Math.Max(1, expected.abs().max().item<float>()), name);
        output.WriteLine($"{name}: {counts.Params:N0} params, {counts.Macs:N0} MACs; max |ours - torchvision| = {diff:E2} (logits up to {expected.abs().max().item<float>():G3})");

        // Exported with the same weights: checked by onnx.checker and run by ONNX Runtime.
        var path = Dir.File(name + ".onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { DynamicSpatial = true });
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
        AssertOnnxRunsLikeTorch(net, path, 224, 224);
        AssertOnnxRunsLikeTorch(net, path, 160, 128);
    }

    private void AssertOnnxRunsLikeTorch(nn.Module<Tensor, Tensor> net, string path, int h, int w, int n = 2)
    {
        using var x = randn([n, 3, h, w], generator: new Generator(7));
        using var onnx = new OnnxEngine(path, threads: 2);
        var ort = onnx.Run(x.data<float>().ToArray(), n, h, w);
        using var noGrad = no_grad();
        using var expected = net.forward(x);
        double scale = Math.Max(1, expected.abs().max().item<float>());
        var diff = TensorAssert.Close(expected, tensor(ort, expected.shape), 1e-4 * scale, Path.GetFileName(path));
        output.WriteLine($"{Path.GetFileName(path)} {n}x3x{h}x{w}: max |ORT - TorchSharp| = {diff:E2} (logits up to {scale:G3})");
    }

    public static TheoryData<string, bool> OwnDefinitions => new()
    {
        { "mobilenet_v1", true }, { "repvgg_a0", true }, { "repvgg_a0", false }, { "mobileone_s4", false }, { "mobileone_s1", true },
    };

    [SkippableTheory]
    [MemberData(nameof(OwnDefinitions))]
    public void NetworkExportsToOnnxThatRunsLikeTorchSharp(string name, bool deployed)
    {
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var net = ModelFactory.Calibrate(NetworkZoo.Get(name).Create(deployed), seed: 3, size: 128);
        var path = Dir.File($"{name}_{deployed}.onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { DynamicSpatial = true, Opset = 13 });
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
        AssertOnnxRunsLikeTorch(net, path, 128, 128, n: 1);
    }

    [Fact]
    public void MobileNetV1AndRepVggCountsAreThePapers()
    {
        using var scope = NewDisposeScope();
        var v1 = NetworkCost.Measure(NetworkZoo.Get("mobilenet_v1").Create());
        var repvgg = NetworkCost.Measure(NetworkZoo.Get("repvgg_a0").Create());
        output.WriteLine($"MobileNetV1 {v1}; RepVGG-A0 fused {repvgg}");
        // MobileNetV1 paper, Table 8: 4.2M parameters, 569M mult-adds.
        Assert.Equal(4.2, Math.Round(v1.Params / 1e6, 1));
        Assert.Equal(569, Math.Round(v1.Macs / 1e6));
        // RepVGG paper, Table 4: A0 (inference form) 8.30M parameters (8,309,384 truncated), 1.4B FLOPs (multiply-adds).
        Assert.InRange(repvgg.Params, 8_300_000, 8_309_999);
        Assert.Equal(1.4, Math.Round(repvgg.Macs / 1e9, 1));
    }

    [Fact]
    public void MobileOneCountsEqualItsProfile()
    {
        using var scope = NewDisposeScope();
        foreach (var v in Models.MobileOneVariants.Names)
        {
            var measured = NetworkCost.Measure(NetworkZoo.Get($"mobileone_{v}").Create());
            var profile = Models.ModelProfile.Compute(Models.MobileOneVariants.Get(v));
            Assert.Equal(profile.ParamsFused, measured.Params);
            Assert.Equal(profile.MacsFused, measured.Macs);
        }
    }

    [Fact]
    public void RepVggFoldsExactly()
    {
        using var scope = NewDisposeScope();
        var train = ModelFactory.Calibrate(RepVgg.A0(fused: false, numClasses: 10), seed: 5, size: 64);
        var fused = RepVgg.Fuse(train);
        using var x = randn([2, 3, 64, 64], generator: new Generator(9));
        using var noGrad = no_grad();
        var expected = train.forward(x);
        var diff = TensorAssert.Close(expected, fused.forward(x), 1e-4 * Math.Max(1, expected.abs().max().item<float>()), "RepVGG-A0 fused");
        Assert.True(NetworkCost.Measure(fused).Params < NetworkCost.Measure(train).Params);
        output.WriteLine($"RepVGG-A0: max |fused - train-time| = {diff:E2}");
    }

    [Fact]
    public void UnknownNetworkNamesTheZoo()
    {
        var e = Assert.Throws<MobileOneException>(() => NetworkZoo.Get("mobilenet_v4"));
        Assert.Contains("mobilenet_v4", e.Message);
        Assert.Contains("efficientnet_b0", e.Message);
    }
}

/// <summary>MobileViT-XS: the paper's size, patches that fold back exactly, and ONNX that runs like TorchSharp.</summary>
public sealed class MobileVitTests(ITestOutputHelper output) : FileTest
{
    [Fact]
    public void ParameterCountIsThePapers()
    {
        using var scope = NewDisposeScope();
        var counts = NetworkCost.Measure(MobileVit.XS());
        output.WriteLine($"MobileViT-XS: {counts}");
        // MobileViT paper, Table 4: XS has 2.3M parameters.
        Assert.Equal(2.3, Math.Round(counts.Params / 1e6, 1));
    }

    [Fact]
    public void UnfoldThenFoldIsTheIdentityAndGroupsPixelPositions()
    {
        using var scope = NewDisposeScope();
        var x = arange(2 * 3 * 4 * 6, dtype: float32).reshape(2, 3, 4, 6);
        var patches = MobileVitBlock.Unfold(x);
        Assert.Equal(new long[] { 8, 6, 3 }, patches.shape);
        // Sequence 1 of image 0 holds the top-right pixel of every 2x2 patch: (0, 1), (0, 3), (0, 5), (2, 1), ...
        Assert.Equal(x[0, 0, 0, 1].item<float>(), patches[1, 0, 0].item<float>());
        Assert.Equal(x[0, 2, 2, 3].item<float>(), patches[1, 4, 2].item<float>());
        Assert.Equal(0, MobileVitBlock.Fold(patches, 4, 6).sub(x).abs().max().item<float>());
    }

    [SkippableTheory]
    [InlineData(224, 17)] // 7x7 last stage: resized to 8x8 and back
    [InlineData(256, 17)]
    [InlineData(256, 13)] // LayerNorm written as its definition
    public void ExportsToOnnxThatRunsLikeTorchSharp(int size, int opset)
    {
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var net = ModelFactory.Calibrate(MobileVit.XS(numClasses: 10), seed: 4, size: size);
        var path = Dir.File($"mobilevit_{size}_{opset}.onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { InputHeight = size, InputWidth = size, Opset = opset });
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
        using var x = randn([1, 3, size, size], generator: new Generator(6));
        using var engine = new OnnxEngine(path, threads: 2);
        var ort = engine.Run(x.data<float>().ToArray(), 1, size, size);
        using var noGrad = no_grad();
        var expected = net.forward(x);
        var diff = TensorAssert.Close(expected, tensor(ort, expected.shape), 1e-4 * Math.Max(1, expected.abs().max().item<float>()), $"MobileViT-XS {size}");
        output.WriteLine($"MobileViT-XS {size}x{size}, opset {opset}: max |ORT - TorchSharp| = {diff:E2} (logits up to {expected.abs().max().item<float>():G3})");
    }

    [Fact]
    public void DynamicExportIsRefusedClearly()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<MobileOneException>(() => OnnxExporter.ToBytes(MobileVit.XS(), new OnnxExportOptions { DynamicSpatial = true }));
        Assert.Contains("fixed input size", e.Message);
    }
}
