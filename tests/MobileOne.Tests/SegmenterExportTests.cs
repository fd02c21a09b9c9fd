using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Segmentation;
using TorchSharp;
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
        // Batch 2 runs other convolution kernels than the check's batch 1, in both runtimes, and these random logits are
        // small sums of large terms; so the yardstick is float32's own rounding: ONNX Runtime must be about as close to
        // the model computed in float64 as TorchSharp's float32 is.
        folded.to(float64);
        using var truth = no_grad_call(folded, x.to(float64));
        var t = truth.data<double>().ToArray();
        double torchError = e.Zip(t).Max(p => Math.Abs(p.First - p.Second)), onnxError = actual.Zip(t).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"64x80, batch 2: largest difference from float64, ONNX Runtime {onnxError:E2}, TorchSharp {torchError:E2} (logits up to {t.Max(Math.Abs):F3})");
        Assert.True(onnxError <= 3 * torchError, $"ONNX Runtime is {onnxError:E2} from the float64 logits, TorchSharp's float32 {torchError:E2}");
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
