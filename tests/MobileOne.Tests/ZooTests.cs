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
        OnnxParity.AssertRunsLikeTorch(net, path, 2, 224, 224, output);
        OnnxParity.AssertRunsLikeTorch(net, path, 2, 160, 128, output);
    }

    [Theory]
    [InlineData("resnet18", new[] { 64, 64, 128, 256, 512 }, new[] { "relu", "layer1", "layer2", "layer3", "layer4" })]
    [InlineData("mobilenet_v2", new[] { 16, 24, 32, 96, 1280 }, new[] { "features.1", "features.3", "features.6", "features.13", "features.18" })]
    [InlineData("mobilenet_v3_large", new[] { 16, 24, 40, 112, 960 }, new[] { "features.1", "features.3", "features.6", "features.12", "features.16" })]
    public void ZooNetworksGiveAPyramidWhoseLastMapIsWhatTheClassifierPools(string name, int[] channels, string[] names)
    {
        using var scope = NewDisposeScope();
        var net = (ZooNetwork)NetworkZoo.Get(name).Create();
        net.eval();
        using var noGrad = no_grad();
        foreach (var size in new[] { 224, 225 })
        {
            var x = randn(1, 3, size, size, generator: new Generator(1));
            var maps = net.ForwardPyramid(x);
            Assert.Equal([2, 4, 8, 16, 32], maps.Select(m => m.Stride));
            Assert.Equal(channels, maps.Select(m => m.Channels));
            Assert.Equal(names, maps.Select(m => m.Name));
            Assert.All(maps, m => Assert.Equal((size + m.Stride - 1) / m.Stride, m.Tensor.shape[2]));
            var logits = maps[^1].Tensor.mean([2, 3]);
            foreach (var (_, m) in net.Head) logits = m.call(logits);
            Assert.Equal(0, TensorAssert.MaxAbsDiff(net.forward(x), logits));
        }
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
        OnnxParity.AssertRunsLikeTorch(net, path, 1, 128, 128, output);
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
