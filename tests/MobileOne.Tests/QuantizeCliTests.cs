using System.Text.Json;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Reparameterization;
using MobileOne.Training;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary><c>quantize</c> and <c>eval --onnx</c> from the command line: a Fashion-MNIST-shaped classifier through both, and the one-line refusals.</summary>
public sealed class QuantizeCliTests : FileTest
{
    [SkippableFact]
    public void AFashionMnistClassifierIsQuantisedAndBothFormsEvaluate()
    {
        Fixtures.RequireFashionMnist();
        var fp32 = WriteFashionMnistModel();
        var int8 = Dir.File("fm_int8.onnx");
        var q = Run("quantize", "--onnx", fp32, "--calibration", "fashion-mnist", "--samples", "32", "--method", "percentile", "--keep-float", "classifier", "--output", int8, "--json");
        Assert.True(q.Code == 0, q.Err);
        var report = JsonDocument.Parse(q.Out).RootElement;
        Assert.Equal(32, report.GetProperty("samples").GetInt32());
        Assert.Equal(1, report.GetProperty("kept_float").GetArrayLength());
        Assert.True(report.GetProperty("runtime_ops").GetProperty("QLinearConv").GetInt32() > 0);
        using (var engine = new OnnxEngine(int8))
        {
            Assert.Equal(FashionMnist.Classes, engine.ClassNames());
            Assert.Equal((1, 28, 1.0), (engine.InputChannels, engine.Preprocessing().Size, engine.Preprocessing().CropPct));
            Assert.Equal("percentile", engine.Metadata["quantization_method"]);
        }
        var results = new[] { fp32, int8 }.Select(model =>
        {
            var r = Run("eval", "--onnx", model, "--data", "fashion-mnist", "--subset", "100", "--json", "--confusion", Dir.File("confusion.png"));
            Assert.True(r.Code == 0, r.Err);
            return JsonDocument.Parse(r.Out).RootElement;
        }).ToList();
        Assert.All(results, r => Assert.Equal(100, r.GetProperty("images").GetInt32()));
        Assert.All(results, r => Assert.Equal(FashionMnist.Classes, r.GetProperty("per_class").EnumerateArray().Select(c => c.GetProperty("class").GetString())));
        Assert.True(File.Exists(Dir.File("confusion.png")));
    }

    [SkippableFact]
    public void BenchProfileSaysWhereEachFormSpendsItsTime()
    {
        Fixtures.RequireFashionMnist();
        var fp32 = WriteFashionMnistModel();
        var int8 = Dir.File("fm_int8.onnx");
        Assert.Equal(0, Run("quantize", "--onnx", fp32, "--calibration", "fashion-mnist", "--samples", "16", "--output", int8).Code);
        int leftBefore = Directory.GetFiles(Environment.CurrentDirectory, "onnxruntime_profile__*.json").Length;
        var r = Run("bench", "--onnx", fp32, "--onnx", int8, "--runs", "3", "--warmup", "1", "--profile");
        Assert.True(r.Code == 0, r.Err);
        // ONNX Runtime's profile files go to a temporary folder and are deleted, not left where the command ran.
        Assert.Equal(leftBefore, Directory.GetFiles(Environment.CurrentDirectory, "onnxruntime_profile__*.json").Length);
        Assert.All(r.Out.Split('\n').Where(l => l.StartsWith("profile of ", StringComparison.Ordinal)), l => Assert.EndsWith(", 3 runs", l));
        var profiles = r.Out.Split("profile of ")[1..];
        Assert.Equal([Path.GetFileName(fp32), Path.GetFileName(int8)], profiles.Select(p => p.Split(':')[0]));
        foreach (var profile in profiles)
        {
            var rows = profile.Split('\n').Where(l => l.Contains(" nodes ", StringComparison.Ordinal)).ToList();
            // Every convolution is told apart by its shape, in the float graph (fused Conv+Relu) as in the int8 one (QLinearConv).
            foreach (var kind in new[] { "stem 3x3 convolution ", "depthwise 3x3 convolutions", "pointwise 1x1 convolutions" })
                Assert.Contains(rows, l => l.TrimStart().StartsWith(kind, StringComparison.Ordinal));
            Assert.DoesNotContain(rows, l => l.TrimStart().StartsWith("Conv", StringComparison.Ordinal) || l.TrimStart().StartsWith("QLinearConv", StringComparison.Ordinal));
            double total = rows.Sum(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^2], System.Globalization.CultureInfo.InvariantCulture));
            Assert.InRange(total, 99.4, 100.6);
        }
        Assert.Contains("QuantizeLinear", profiles[1]);
        AssertCleanError(Run("bench", "--variant", "s0", "--profile"), 2, "--profile goes with --onnx");
        AssertCleanError(Run("bench", "--onnx", fp32, "--profile", "--json"), 2, "--profile prints tables; it does not go with --json");
    }

    [Fact]
    public void BadRequestsAreOneLineErrors()
    {
        AssertCleanError(Run("quantize", "--calibration", "fashion-mnist", "--output", Dir.File("x.onnx")), 2, "give one of --checkpoint or --onnx");
        AssertCleanError(Run("quantize", "--onnx", "a.onnx", "--calibration", "x", "--output", "y", "--per-channel", "--per-tensor"), 2, "--per-channel or --per-tensor");
        AssertCleanError(Run("quantize", "--onnx", "a.onnx", "--calibration", "x", "--output", "y", "--method", "mse"), 2, "mse");
        AssertCleanError(Run("eval", "--data", "fashion-mnist"), 2, "give one of --checkpoint or --onnx");
        AssertCleanError(Run("eval", "--onnx", "a.onnx", "--data", "fashion-mnist", "--image-size", "32"), 2, "--image-size, --variant and --config go with --checkpoint");
        var missing = Dir.File("missing.onnx");
        AssertCleanError(Run("quantize", "--onnx", missing, "--calibration", "fashion-mnist", "--output", Dir.File("x.onnx")), 1, $"ONNX file not found: {missing}");
        var empty = Directory.CreateDirectory(Dir.File("empty")).FullName;
        AssertCleanError(Run("quantize", "--onnx", WriteFashionMnistModel(), "--calibration", empty, "--output", Dir.File("x.onnx")), 1, "no images to calibrate on");
        Assert.False(File.Exists(Dir.File("x.onnx")));
    }

    // Fashion-MNIST's shape, normalisation and class names around a small MobileOne with seeded weights and statistics.
    private string WriteFashionMnistModel()
    {
        var path = Dir.File("fm.onnx");
        using var trained = ModelFactory.Calibrated(QuickstartModel.FashionMnist(), seed: 5, size: 28);
        using var fused = Reparameterizer.Fuse(trained);
        var options = new OnnxExportOptions
        {
            InputHeight = 28, InputWidth = 28, CropPct = 1, ClassNames = FashionMnist.Classes,
            Mean = [FashionMnist.Mean, FashionMnist.Mean, FashionMnist.Mean], Std = [FashionMnist.Std, FashionMnist.Std, FashionMnist.Std],
        };
        OnnxExporter.Export(fused, path, options);
        return path;
    }
}
