using Google.Protobuf;
using MobileOne.Classification;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Export.Onnx;
using MobileOne.Models;
using MobileOne.Quantization;
using MobileOne.Reparameterization;
using MobileOne.Training;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>int8 post-training quantisation: its arithmetic by hand, the QDQ graph it writes, calibration, and the refusals.</summary>
public sealed class QuantizationTests : FileTest
{
    private const int Size = 32;

    [Theory]
    [InlineData(1.25f, 0.5f, 0, 2)]    // 2.5 rounds to the even 2
    [InlineData(0.75f, 0.5f, 0, 2)]    // 1.5 rounds to the even 2
    [InlineData(-1.25f, 0.5f, 10, 8)]  // -2.5 -> -2, plus 10
    [InlineData(-0.75f, 0.5f, 10, 8)]  // -1.5 -> -2, plus 10
    [InlineData(1.74f, 0.5f, 3, 6)]    // 3.48 -> 3, plus 3
    [InlineData(200f, 0.5f, 0, 255)]   // saturates high
    [InlineData(-3f, 0.5f, 0, 0)]      // saturates low (what a ReLU does with zero point 0)
    [InlineData(-0.2f, 0.5f, 0, 0)]
    public void UInt8QuantizationRoundsHalfToEvenAndSaturates(float x, float scale, int zeroPoint, int expected) =>
        Assert.Equal(expected, QuantMath.Quantize(x, scale, zeroPoint, QuantMath.UInt8Min, QuantMath.UInt8Max));

    [Theory]
    [InlineData(0.25f, 0.1f, 0, 2)]     // 0.25 / 0.1 = 2.5 in float32 -> 2
    [InlineData(64f, 0.25f, 0, 127)]    // 256 saturates at 127
    [InlineData(-64f, 0.25f, 0, -127)]  // and at -127 (the symmetric range)
    [InlineData(-3.5f, 1f, 0, -4)]      // -3.5 rounds to the even -4
    public void Int8WeightsRoundHalfToEvenAndSaturateSymmetrically(float x, float scale, int zeroPoint, int expected) =>
        Assert.Equal(expected, QuantMath.Quantize(x, scale, zeroPoint, QuantMath.Int8Min, QuantMath.Int8Max));

    [Fact]
    public void DequantizationIsAffine()
    {
        Assert.Equal(-1.5f, QuantMath.Dequantize(7, 0.5f, 10));
        var p = QuantMath.Activation(-1f, 3f);
        Assert.Equal(0f, p.Dequantize(p.Quantize(0f)));
    }

    [Fact]
    public void ActivationRangesContainZeroAndStartAtZeroPointZeroAfterRelu()
    {
        Assert.Equal(new QuantParams(0.01f, 0, 0, 255), QuantMath.Activation(0f, 2.55f));
        // [-1, 3]: scale 4/255, zero point round(63.75) = 64.
        Assert.Equal(new QuantParams(4f / 255, 64, 0, 255), QuantMath.Activation(-1f, 3f));
        // A range off zero is widened to reach it: [1, 2] -> [0, 2], [-2, -1] -> [-2, 0].
        Assert.Equal(new QuantParams(2f / 255, 0, 0, 255), QuantMath.Activation(1f, 2f));
        Assert.Equal(new QuantParams(2f / 255, 255, 0, 255), QuantMath.Activation(-2f, -1f));
        Assert.Equal(new QuantParams(1f, 0, 0, 255), QuantMath.Activation(0f, 0f));
        Assert.Throws<MobileOneException>(() => QuantMath.Activation(float.NaN, 1f));
    }

    [Fact]
    public void WeightScalesArePerOutputChannelOrPerTensor()
    {
        // Two output channels of two weights each: |max| 1.27 and 0.254.
        float[] w = [1.27f, -0.5f, 0.1f, -0.254f];
        var perChannel = QuantMath.WeightParams(w, 2, perChannel: true);
        Assert.Equal([0.01f, 0.002f], perChannel.Select(p => p.Scale));
        Assert.All(perChannel, p => Assert.Equal(0, p.ZeroPoint));
        Assert.Equal([127, -50, 50, -127], QuantMath.QuantizeWeights(w, perChannel).Select(v => (int)v));
        var perTensor = QuantMath.WeightParams(w, 2, perChannel: false);
        Assert.Equal([0.01f, 0.01f], perTensor.Select(p => p.Scale));
        Assert.Equal([127, -50, 10, -25], QuantMath.QuantizeWeights(w, perTensor).Select(v => (int)v));
    }

    [Fact]
    public void BiasesAreInt32WithTheProductOfInputAndWeightScales()
    {
        var weights = new[] { new QuantParams(0.25f, 0, -127, 127), new QuantParams(0.5f, 0, -127, 127), new QuantParams(0.25f, 0, -127, 127) };
        // s_x = 0.5: scales 0.125, 0.25, 0.125; 1 / 0.125 = 8, 0.375 / 0.25 = 1.5 -> 2, 1e10 saturates.
        var (values, scales) = QuantMath.QuantizeBias([1f, 0.375f, 1e10f], 0.5f, weights);
        Assert.Equal([8, 2, int.MaxValue], values);
        Assert.Equal([0.125f, 0.25f, 0.125f], scales);
    }

    [Fact]
    public void PercentileKeepsTheFewestBinsHoldingTheFraction()
    {
        Assert.Equal(2, HistogramThresholds.PercentileBins([5, 3, 1, 1], 0.8));
        Assert.Equal(4, HistogramThresholds.PercentileBins([5, 3, 1, 1], 0.95));
    }

    [Fact]
    public void EntropyClipsLongTailsButKeepsAGaussianNearlyWhole()
    {
        var rng = new Random(1);
        var gaussian = new long[RangeCollector.Bins];
        var values = Enumerable.Range(0, 200_000).Select(_ => Math.Abs(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
        double max = values.Max();
        foreach (var v in values) gaussian[Math.Min((int)(v / max * gaussian.Length), gaussian.Length - 1)]++;
        Assert.InRange(HistogramThresholds.EntropyBins(gaussian, 255) * max / gaussian.Length, 3.5, max);
        // One far outlier past a narrow bell: the threshold drops to the bell, whose shape wide groups would blur.
        var tail = new long[RangeCollector.Bins];
        for (int i = 0; i < 100; i++) tail[i] = (long)(100_000 * Math.Exp(-i * i / 1800.0));
        tail[^1] = 1;
        Assert.InRange(HistogramThresholds.EntropyBins(tail, 255), 255, 300);
    }

    [Fact]
    public void DepthwiseConvolutionsGetOneWeightScalePerOutputChannelOnAxis0()
    {
        var (floatModel, int8, _) = QuantizeTiny(new QuantizationOptions { Samples = 8, CheckSamples = 8 });
        var before = Parse(floatModel).Graph;
        var after = Parse(int8).Graph;
        var depthwise = after.Node.Where(n => n.OpType == "Conv" && n.Attribute.Any(a => a.Name == "group" && a.I > 1)).ToList();
        Assert.NotEmpty(depthwise);
        foreach (var conv in depthwise)
        {
            var dq = after.Node.Single(n => n.Output[0] == conv.Input[1]);
            Assert.Equal("DequantizeLinear", dq.OpType);
            Assert.Equal(0, dq.Attribute.Single(a => a.Name == "axis").I);
            var q = after.Initializer.Single(t => t.Name == dq.Input[0]);
            var scale = after.Initializer.Single(t => t.Name == dq.Input[1]);
            Assert.Equal((int)TensorProto.Types.DataType.Int8, q.DataType);
            long channels = q.Dims[0];
            Assert.Equal(channels, conv.Attribute.Single(a => a.Name == "group").I);
            Assert.Equal([channels], scale.Dims);
            var original = before.Initializer.Single(t => t.Name == dq.Input[0].Replace("_quantized", ""));
            var w = OnnxTensors.ReadFloats(original, "test");
            int run = w.Length / (int)channels;
            var expected = Enumerable.Range(0, (int)channels).Select(c => w.Skip(c * run).Take(run).Max(Math.Abs) / 127f).ToArray();
            Assert.Equal(expected, OnnxTensors.ReadFloats(scale, "test"));
            Assert.True(expected.Distinct().Count() > 1, "the channels' ranges should differ");
        }
    }

    [Fact]
    public void TheQdqGraphPassesOnnxCheckerAndOnnxRuntimeFusesItIntoIntegerKernels()
    {
        var (_, int8, report) = QuantizeTiny(new QuantizationOptions { Samples = 8, CheckSamples = 8 });
        var path = Dir.File("tiny_int8.onnx");
        File.WriteAllBytes(path, int8);
        OnnxExportTests.AssertOnnxCheckerAccepts(path);
        var ops = report.RuntimeOps.ToDictionary(o => o.OpType, o => o.Count);
        Assert.Equal(report.QuantizedNodes - 1, ops["QLinearConv"]);
        Assert.Equal(1, ops["QGemm"]);
        Assert.False(ops.ContainsKey("Conv"), "a float Conv is left: " + string.Join(", ", ops.Keys));
        var graph = Parse(int8).Graph;
        Assert.DoesNotContain(graph.Node, n => n.OpType == "Relu");
        Assert.All(graph.Node.Where(n => n.OpType == "DequantizeLinear" && n.Input[0].EndsWith(".bias_quantized", StringComparison.Ordinal)),
            n => Assert.Equal((int)TensorProto.Types.DataType.Int32, graph.Initializer.Single(t => t.Name == n.Input[0]).DataType));
        Assert.Equal(8, report.Check.Samples);
        Assert.InRange(report.SizeRatio, 0.2, 0.5);
    }

    [Fact]
    public void KeptLayersStayFloat()
    {
        var (_, int8, report) = QuantizeTiny(new QuantizationOptions { Samples = 4, CheckSamples = 4, KeepFloat = ["stem", "classifier"] });
        var graph = Parse(int8).Graph;
        Assert.Equal(["stage0.reparam_conv", "linear"], report.KeptFloat);
        var stem = graph.Node.Single(n => n.Name == "stage0.reparam_conv");
        Assert.Equal("input", stem.Input[0]);
        Assert.Contains(graph.Initializer, t => t.Name == stem.Input[1] && t.DataType == (int)TensorProto.Types.DataType.Float);
        Assert.Contains(graph.Node, n => n.Name == "stage0.relu");
        var linear = graph.Node.Single(n => n.Name == "linear");
        Assert.Contains(graph.Initializer, t => t.Name == linear.Input[1] && t.DataType == (int)TensorProto.Types.DataType.Float);
        Assert.Equal("true", Parse(int8).MetadataProps.Single(p => p.Key == "quantization_per_channel").Value);
        Assert.Equal("stem,classifier", Parse(int8).MetadataProps.Single(p => p.Key == "quantization_keep_float").Value);
        Assert.Contains("no layer matches 'stage9'",
            Assert.Throws<MobileOneException>(() => QuantizeTiny(new QuantizationOptions { Samples = 2, KeepFloat = ["stage9"] })).Message);
    }

    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    [InlineData(CalibrationMethod.Entropy)]
    public void CalibrationIsDeterministic(CalibrationMethod method)
    {
        var options = new QuantizationOptions { Samples = 12, CheckSamples = 4, Method = method };
        var first = QuantizeTiny(options).Int8;
        var second = QuantizeTiny(options).Int8;
        Assert.Equal(first, second);
        Assert.Equal(method.Name(), Parse(first).MetadataProps.Single(p => p.Key == "quantization_method").Value);
    }

    [Fact]
    public void AModelThatIsNotAClassifierIsRefused()
    {
        var g = new OnnxGraphBuilder(17);
        g.Input("input", [null, 3, Size, Size], ["batch", "", "", ""]);
        var y = g.Node("Conv", "conv", ["input", g.Initializer("w", randn(4, 3, 3, 3, generator: new TorchSharp.torch.Generator(1)))], OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
        g.Output(y, "features", [null, 4, Size, Size], ["batch", "", "", ""]);
        var path = Dir.File("features.onnx");
        OnnxExporter.Write(OnnxExporter.Assemble(g, []), path);
        var e = Assert.Throws<MobileOneException>(() => OnnxQuantizer.QuantizeOnnx(path, Dir.File("none.npy"), new QuantizationOptions(), Dir.File("out.onnx")));
        Assert.Contains("not an image classifier", e.Message);
        Assert.Contains("[N, classes]", e.Message);
        Assert.False(File.Exists(Dir.File("out.onnx")));
    }

    [Fact]
    public void AnEmptyCalibrationFolderIsRefused()
    {
        var path = WriteTiny();
        var empty = Directory.CreateDirectory(Dir.File("empty")).FullName;
        File.WriteAllText(Path.Combine(empty, "notes.txt"), "no images here");
        var e = Assert.Throws<MobileOneException>(() => OnnxQuantizer.QuantizeOnnx(path, empty, new QuantizationOptions(), Dir.File("out.onnx")));
        Assert.Contains($"{empty}: no images to calibrate on", e.Message);
        Assert.False(File.Exists(Dir.File("out.onnx")));
    }

    [Fact]
    public void AnUnreadableOrMisshapenNpyIsRefused()
    {
        var path = WriteTiny();
        var bad = Dir.File("bad.npy");
        File.WriteAllBytes(bad, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        Assert.Contains($"{bad}: not a .npy file", Assert.Throws<MobileOneException>(() => OnnxQuantizer.QuantizeOnnx(path, bad, new QuantizationOptions(), Dir.File("out.onnx"))).Message);
        var wrong = Dir.File("wrong.npy");
        NpyFile.Write(wrong, zeros(2, 1, Size, Size));
        Assert.Contains("the model takes [N, 3, 32, 32]", Assert.Throws<MobileOneException>(() => OnnxQuantizer.QuantizeOnnx(path, wrong, new QuantizationOptions(), Dir.File("out.onnx"))).Message);
        var none = Dir.File("none.npy");
        NpyFile.Write(none, zeros(0, 3, Size, Size));
        Assert.Contains("holds no samples", Assert.Throws<MobileOneException>(() => OnnxQuantizer.QuantizeOnnx(path, none, new QuantizationOptions(), Dir.File("out.onnx"))).Message);
        Assert.False(File.Exists(Dir.File("out.onnx")));
    }

    [Fact]
    public void AnNpyCalibrationSetWritesAModelThatRuns()
    {
        var path = WriteTiny();
        var npy = Dir.File("x.npy");
        NpyFile.Write(npy, randn(6, 3, Size, Size, generator: new TorchSharp.torch.Generator(4)));
        var report = OnnxQuantizer.QuantizeOnnx(path, npy, new QuantizationOptions { Method = CalibrationMethod.Percentile }, Dir.File("out.onnx"));
        Assert.Equal(6, report.Samples);
        using var engine = new Inference.OnnxEngine(Dir.File("out.onnx"));
        Assert.Equal(10, engine.Run(new float[3 * Size * Size], 1, Size, Size).Length);
    }

    /// <summary>
    /// A trained classifier (a small MobileOne, about 88 % top-1 after 8 epochs on 6,000 Fashion-MNIST images),
    /// quantised with the defaults (min-max, per-channel, 512 training images), predicts the class its float model
    /// predicts on at least 99 % of the 10,000 test images. A random-weight network is no yardstick here: its logits
    /// sit within int8's noise of each other (the fixture S0 agrees on 41 % of real images).
    /// </summary>
    [SkippableFact]
    [Trait("Category", "Slow")]
    public void ATrainedClassifierPredictsTheSameClassInInt8OnFashionMnistTest()
    {
        Fixtures.RequireFashionMnist();
        var options = TrainOptions.FashionMnist(channels: 1) with
        {
            Model = new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.5], false, 2, 10, inChannels: 1, strides: [1, 2, 2, 2, 1]).ToJson(),
            Epochs = 8, BatchSize = 64, Lr = 0.1, WarmupEpochs = 0.5, EmaDecay = 0.99, Augment = AugmentPolicy.None,
            TrainSubset = 6000, ValSubset = 500, CheckpointEvery = 0, Threads = 1,
        };
        var result = ClassificationTask.Train(options, Dir.File("run"), resume: false, new RecordingObserver());
        Assert.True(result.BestScore > 0.85, $"the model trained to {result.BestScore:P1} only");

        var floatModel = OnnxQuantizer.ExportCheckpoint(Dir.File("run/best.pth.tar"));
        using var reference = new Inference.OnnxEngine(floatModel);
        var (int8, report) = OnnxQuantizer.Quantize(floatModel, OnnxQuantizer.OpenCalibration(floatModel, TrainingData.FashionMnistName, 512), new QuantizationOptions(), "fm");
        Assert.Equal(512, report.Samples);
        using var quantized = new Inference.OnnxEngine(int8, 1, "int8");
        var test = FashionMnist.Load(train: false);
        const int Pixels = 28 * 28;
        var images = new float[test.Count * Pixels];
        var preprocessing = reference.Preprocessing();
        for (int i = 0; i < test.Count; i++) preprocessing.ProcessInto(test.Image(i), images.AsSpan(i * Pixels, Pixels));
        var expected = Top1(reference.Run(images, test.Count, 28, 28), 10);
        var actual = Top1(quantized.Run(images, test.Count, 28, 28), 10);
        double agreement = expected.Zip(actual).Count(p => p.First == p.Second) / (double)test.Count;
        Assert.True(agreement >= 0.99, $"int8 and float predict the same class on {agreement:P2} of {test.Count} test images");
    }

    [Theory]
    [InlineData("minmax")]
    [InlineData("entropy")]
    public void BiasCorrectionGivesTheInt8LogitsTheFloatOnesMeanOverTheCalibrationSet(string method)
    {
        var options = new QuantizationOptions { Samples = 16, CheckSamples = 16, Method = CalibrationMethods.Parse(method) };
        var (floatModel, plain, _) = QuantizeTiny(options);
        var (_, corrected, report) = QuantizeTiny(options with { BiasCorrection = true });
        int biased = Parse(floatModel).Graph.Node.Count(n => n.OpType is "Conv" or "Gemm" && n.Input.Count == 3);
        Assert.Equal(biased, report.CorrectedBiases);
        Assert.Equal("empirical", Parse(corrected).MetadataProps.Single(p => p.Key == "quantization_bias_correction").Value);
        Assert.Equal("none", Parse(plain).MetadataProps.Single(p => p.Key == "quantization_bias_correction").Value);

        // The classifier is corrected last, with every node before it corrected: its output's mean per class over the
        // calibration samples is the float model's, up to the int32 rounding of its bias.
        var reference = MeanLogits(floatModel);
        double before = reference.Zip(MeanLogits(plain)).Max(p => Math.Abs(p.First - p.Second));
        double after = reference.Zip(MeanLogits(corrected)).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(after < 1e-4 && after < before / 10, $"largest shift of a class's mean logit: {before:G3} uncorrected, {after:G3} corrected");
    }

    // Each class's mean logit over the 16 samples QuantizeTiny calibrates on.
    private static double[] MeanLogits(byte[] model)
    {
        using var x = randn(16, 3, Size, Size, generator: new TorchSharp.torch.Generator(3));
        using var engine = new Inference.OnnxEngine(model, 1, "tiny");
        var logits = engine.Run(x.data<float>().ToArray(), 16, Size, Size);
        return [.. Enumerable.Range(0, 10).Select(c => Enumerable.Range(0, 16).Average(i => (double)logits[i * 10 + c]))];
    }

    private static int[] Top1(float[] logits, int classes) =>
        [.. Enumerable.Range(0, logits.Length / classes).Select(i => System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(i * classes, classes)))];

    private static ModelProto Parse(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);

    // A small fused MobileOne (depthwise and pointwise convolutions, 10 classes) at 32x32, calibrated on seeded noise.
    private static byte[] TinyModel()
    {
        using var trained = ModelFactory.Calibrated(new MobileOneConfig([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.5], false, 2, 10), seed: 7, size: Size);
        using var fused = Reparameterizer.Fuse(trained);
        return OnnxExporter.ToBytes(fused, new OnnxExportOptions { InputHeight = Size, InputWidth = Size });
    }

    private string WriteTiny()
    {
        var path = Dir.File("tiny.onnx");
        File.WriteAllBytes(path, TinyModel());
        return path;
    }

    private static (byte[] Float, byte[] Int8, QuantizationReport Report) QuantizeTiny(QuantizationOptions options)
    {
        var model = TinyModel();
        using var x = randn(16, 3, Size, Size, generator: new TorchSharp.torch.Generator(3));
        var set = CalibrationSet.FromArray(x.data<float>().ToArray(), 3, Size, Size, "seeded noise");
        var (int8, report) = OnnxQuantizer.Quantize(model, set, options, "tiny");
        return (model, int8, report);
    }
}
