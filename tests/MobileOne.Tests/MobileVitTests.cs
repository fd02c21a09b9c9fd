using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Zoo;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>MobileViT-XS: the paper's size, patches that fold back exactly, and ONNX that runs like TorchSharp.</summary>
public sealed class MobileVitTests(ITestOutputHelper output) : FileTest
{
    [Fact]
    public void ParameterCountIsThePapers()
    {
        using var scope = NewDisposeScope();
        var counts = NetworkCost.Measure(MobileVit.XS());
        output.WriteLine($"MobileViT-XS: {counts}");
        // MobileViT paper, Table 4: XS has 2.3M parameters (timm lists 2.32M).
        Assert.Equal(2_317_848, counts.Params);
        // 703,228,736 conv and linear MACs plus the attention products, by hand: 4 sequences of N patches per
        // image, 2 N^2 d per sequence and layer: 4*2*196^2*96*2 + 4*2*49^2*120*4 + 4*2*16^2*144*3 = 69,111,552
        // (the 7x7 stage is resized to 8x8, so 16 patches).
        Assert.Equal(703_228_736 + 69_111_552, counts.Macs);
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
    [InlineData(224, 11)] // the oldest opset: Resize with empty roi/scales, Softmax's older semantics
    public void ExportsToOnnxThatRunsLikeTorchSharp(int size, int opset)
    {
        PythonReference.Require();
        using var scope = NewDisposeScope();
        var net = ModelFactory.Calibrate(MobileVit.XS(numClasses: 10), seed: 4, size: size);
        var path = Dir.File($"mobilevit_{size}_{opset}.onnx");
        OnnxExporter.Export(net, path, new OnnxExportOptions { InputHeight = size, InputWidth = size, Opset = opset });
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
        OnnxParity.AssertRunsLikeTorch(net, path, 2, size, size, output);
    }

    [Fact]
    public void DynamicExportIsRefusedClearly()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<MobileOneException>(() => OnnxExporter.ToBytes(MobileVit.XS(), new OnnxExportOptions { DynamicSpatial = true }));
        Assert.Contains("export with a fixed input size, not a dynamic one", e.Message);
    }
}
