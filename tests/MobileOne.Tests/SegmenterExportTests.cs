using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Segmentation;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>DeepLabV3's ONNX export: any input size, BatchNorm-free, and ONNX Runtime computes what TorchSharp does.</summary>
public sealed class SegmenterExportTests(ITestOutputHelper output) : FileTest
{
    public static TheoryData<string> Backbones => new("mobileone_s0", SegmenterConfig.MobileNetV3Large);

    private static SegmenterConfig Config(string backbone) => new(backbone, NumClasses: 5);

    // A train-time segmenter with calibrated BatchNorm statistics, so that activations vary over the image.
    private static DeepLabV3 Segmenter(string backbone)
    {
        var model = ModelFactory.Calibrate(Config(backbone).Create(1), 1, size: 96, batch: 4);
        model.eval();
        return model;
    }

    [SkippableTheory]
    [MemberData(nameof(Backbones))]
    public void TheGraphTakesAnySizeAndEqualsTorchSharp(string backbone)
    {
        using var model = Segmenter(backbone);
        var path = Dir.File(backbone + ".onnx");
        var check = SegmenterExportCheck.ExportChecked(model, path, new SegmenterExportOptions(Config(backbone)) { ClassNames = ["a", "b", "c", "d", "e"] });
        output.WriteLine(check.Summary);
        Assert.True(check.Agrees, check.Summary);
        Assert.Equal(SegmenterExportCheck.DefaultSizes, check.Sizes);
        // The file on disk, at a third size and batch 2, by the engine that reads it.
        using var onnx = new OnnxSegmenter(path);
        Assert.Equal(5, onnx.NumClasses);
        Assert.Equal("[\"a\",\"b\",\"c\",\"d\",\"e\"]", onnx.Metadata[OnnxExporter.ClassNamesKey]);
        Assert.Equal("dynamic", onnx.Metadata["input_size"]);
        using var x = randn(2, 3, 64, 80, generator: new TorchSharp.torch.Generator(4));
        var actual = onnx.Run(x.data<float>().ToArray(), 2, 64, 80);
        using var folded = SegmenterFold.Fold(model, Config(backbone));
        using var expected = no_grad_call(folded, x);
        var e = expected.data<float>().ToArray();
        Assert.Equal(e.Length, actual.Length);
        double scale = e.Max(Math.Abs), worst = e.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"64x80, batch 2: largest difference {worst:E2} of logits up to {scale:F3}");
        // Batch 2 runs other convolution kernels in both runtimes than the check's batch 1 (which holds 1e-4 here, at
        // three more sizes too); their float sums over 1,024 channels round apart by about 1e-4 of these small logits.
        Assert.True(worst <= 10 * SegmenterExportCheck.Tolerance * scale, $"largest difference {worst} of logits up to {scale}");
        using var differ = expected.argmax(1).ne(tensor(actual, expected.shape).argmax(1)).sum();
        Assert.True(differ.item<long>() <= SegmenterExportCheck.MaxClassMismatch * 2 * 64 * 80, $"{differ.item<long>()} pixels of another class");
        var ops = MobileOne.Export.Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.DoesNotContain("BatchNormalization", ops);
        Assert.Contains("Resize", ops);
    }

    private static Tensor no_grad_call(DeepLabV3 model, Tensor x)
    {
        using var noGrad = no_grad();
        return model.call(x);
    }

    [SkippableFact]
    public void TheGraphPassesOnnxsChecker()
    {
        PythonReference.Require();
        using var model = Segmenter("mobileone_s0");
        var path = Dir.File("s0.onnx");
        SegmenterExportCheck.ExportChecked(model, path, new SegmenterExportOptions(Config("mobileone_s0")));
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
    }

    [Fact]
    public void BadOptionsAreRefusedAndNothingIsWritten()
    {
        using var model = Config("mobileone_s0").Create(1);
        var path = Dir.File("x.onnx");
        string Message(SegmenterExportOptions o) => Assert.Throws<MobileOneException>(() => SegmenterExportCheck.ExportChecked(model, path, o)).Message;
        Assert.Contains("opset 11 is not supported for a segmenter", Message(new SegmenterExportOptions(Config("mobileone_s0")) { Opset = 11 }));
        Assert.Contains("2 class names for a segmenter of 5 classes", Message(new SegmenterExportOptions(Config("mobileone_s0")) { ClassNames = ["a", "b"] }));
        Assert.Contains("the segmenter has 5 classes but its configuration 7", Message(new SegmenterExportOptions(Config("mobileone_s0") with { NumClasses = 7 })));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void BenchSegmentersTakesNoOtherModel()
    {
        CliTests.AssertCleanError(CliTests.Run("bench", "--segmenters", "--input-size", "224"), 2, "--segmenters measures the two segmenters itself, at 512x512");
        CliTests.AssertCleanError(CliTests.Run("bench", "--segmenters", "--detectors"), 2, "--segmenters measures the two segmenters itself");
        CliTests.AssertCleanError(CliTests.Run("bench", "--segmenters", "--variant", "s1"), 2, "--segmenters measures the two segmenters itself");
    }
}
