using MobileOne.Detection;
using MobileOne.Export;
using MobileOne.Inference;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>SSDLite's ONNX export: checked by onnx.checker, BatchNorm-free, and ONNX Runtime computes what TorchSharp does, with NMS in the graph or not.</summary>
public sealed class DetectorExportTests(ITestOutputHelper output) : FileTest
{
    // Small, to keep the tests fast: SSDLite works at any size, as the anchors follow the maps (522 of them at 128).
    private const int Size = 128;

    public static TheoryData<string> Backbones => new("mobileone_s0", DetectorConfig.MobileNetV3Large);

    internal static DetectorConfig Config(string backbone) => new(backbone, NumClasses: 6, ImageSize: Size);

    /// <summary>
    /// A train-time detector with calibrated BatchNorm statistics (so activations vary over the image) and class
    /// biases spread apart, as tests/MobileOne.Tests/python/ssdlite_reference.py gives them: some classes lead
    /// clearly, so that no near-tie between the runtimes decides which detections survive.
    /// </summary>
    internal static SsdLite Detector(string backbone, int seed = 1)
    {
        var model = ModelFactory.Calibrate(Config(backbone).Create(seed), seed, Size, batch: 8);
        var g = new Generator((ulong)seed + 100);
        using (no_grad())
            foreach (var layer in model.Head.Classification.Layers)
            {
                var conv = (Conv2d)layer.children().Last();
                conv.bias!.copy_(randn(conv.bias.shape, generator: g) * 3);
            }
        model.eval();
        return model;
    }

    private static float[] RandomImage(int n, int seed)
    {
        using var x = randn(n, 3, Size, Size, generator: new Generator((ulong)seed));
        return x.data<float>().ToArray();
    }

    private string Export(SsdLite model, string backbone, bool nms)
    {
        var path = Dir.File($"{backbone}_{(nms ? "nms" : "dense")}.onnx");
        DetectorExporter.Export(model, path, new DetectorExportOptions(Config(backbone)) { Nms = nms });
        return path;
    }

    [SkippableTheory]
    [MemberData(nameof(Backbones))]
    public void BothGraphsPassTheCheckerAndHoldNoBatchNorm(string backbone)
    {
        PythonReference.Require();
        using var model = Detector(backbone);
        foreach (bool nms in new[] { false, true })
        {
            var path = Export(model, backbone, nms);
            OnnxExportTests.AssertOnnxCheckerAccepts(path);
            var ops = OpTypes(path);
            Assert.DoesNotContain("BatchNormalization", ops);
            Assert.Contains("Conv", ops);
            Assert.Equal(nms, ops.Contains("NonMaxSuppression"));
        }
    }

    private static HashSet<string> OpTypes(string path) =>
        MobileOne.Export.Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Select(n => n.OpType).ToHashSet();

    [SkippableTheory]
    [MemberData(nameof(Backbones))]
    public void WithoutNmsBoxesAndScoresEqualTorchSharps(string backbone)
    {
        using var model = Detector(backbone);
        var path = Export(model, backbone, nms: false);
        const int n = 2;
        var input = RandomImage(n, seed: 5);
        using var onnx = new OnnxDetector(path);
        var (boxes, scores) = onnx.RunDense(input, n);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (codes, logits, grids) = model.ForwardHeads(tensor(input, [n, 3, Size, Size]));
        var expectedBoxes = BoxOps.Clip(model.Coder.Decode(codes, model.Anchors(grids, Size, Size)), Size, Size);
        var expectedScores = logits.softmax(-1);
        Assert.Equal(522, onnx.Anchors);
        double boxDiff = Relative(expectedBoxes, tensor(boxes, expectedBoxes.shape));
        double scoreDiff = Relative(expectedScores, tensor(scores, expectedScores.shape));
        Assert.True(boxDiff <= 1e-4 && scoreDiff <= 1e-4, $"boxes differ by {boxDiff:E2}, scores by {scoreDiff:E2} (relative)");
        // Not a degenerate case: boxes spread over the image, and scores far from uniform.
        Assert.True(expectedBoxes.std().item<float>() > 10 && expectedScores.max().item<float>() > 0.9f);
        output.WriteLine($"{backbone}: boxes within {boxDiff:E2}, scores within {scoreDiff:E2} of TorchSharp (relative)");
    }

    // max |actual - expected| / max |expected|: boxes relative to the input's side, probabilities to 1.
    private static double Relative(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(float64);
        return ((actual.to(float64) - e).abs().max() / e.abs().max()).item<double>();
    }

    [SkippableTheory]
    [MemberData(nameof(Backbones))]
    public void WithNmsDetectionsEqualThePostprocessors(string backbone)
    {
        using var model = Detector(backbone);
        var input = RandomImage(1, seed: 7);
        // The background ahead except on about 100 (box, class) pairs: scores apart, as a trained detector's are.
        var (shift, candidates) = BackgroundBias.Calibrate(model, tensor(input, [1, 3, Size, Size]), 100);
        var path = Export(model, backbone, nms: true);
        using var onnx = new OnnxDetector(path);
        var found = onnx.Detect(input);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // The graph is the folded detector's: so is the reference, so that folding's rounding decides nothing.
        using var folded = DetectorCheckpoint.Fold(model);
        var (codes, logits, grids) = folded.ForwardHeads(tensor(input, [1, 3, Size, Size]));
        var expected = folded.Postprocessor.Run(codes[0], logits[0], folded.Anchors(grids, Size, Size), folded.Coder, Size, Size);
        // Boxes within 1e-4 of the input's side, as without NMS: a large box's width is exp(dw / 5) times its anchor's, so
        // MobileOne-S0's float32 differences in the codes (~1e-4) move its edge by ~2e-3 pixels.
        Assert.Null(DetectorExportCheck.Mismatch(expected, found, scoreTolerance: 1e-5, boxTolerance: 1e-4 * Size));
        Assert.InRange(candidates, 80, 100);
        Assert.InRange(found.Count, 10, candidates);
        Assert.True(found.Select(b => b.Label).Distinct().Count() > 1, "detections of more than one class");
        output.WriteLine($"{backbone}: background +{shift:F2}, {candidates} boxes reach NMS; {found.Count} detections equal the post-processor's (best {found[0].Score:F4}, class {found[0].Label}; last {found[^1].Score:E2})");
    }

    [Fact]
    public void DetectExportWritesACheckedFileOfEitherKind()
    {
        using (var model = Detector("mobileone_s0")) DetectorCheckpoint.Save(model, Config("mobileone_s0"), Dir.File("last.pth.tar"));
        foreach (bool nms in new[] { true, false })
        {
            var path = Dir.File(nms ? "nms.onnx" : "dense.onnx");
            var r = CliTests.Run(["detect", "export", "--checkpoint", Dir.File("last.pth.tar"), "--output", path, .. nms ? Array.Empty<string>() : ["--no-nms"]]);
            Assert.True(r.Code == 0, r.Err);
            Assert.Contains("checked with ONNX Runtime", r.Out);
            Assert.Contains(nms ? "detections equal the post-processor's" : "outputs boxes [N, A, 4]", r.Out);
            using var onnx = new OnnxDetector(path);
            Assert.Equal(nms, onnx.HasNms);
            Assert.Equal(Size, onnx.ImageSize);
            Assert.Equal("ssdlite128_mobileone_s0", onnx.Metadata["model"]);
            Assert.Equal("0.5,0.5,0.5", onnx.Metadata["mean"]);
            Assert.Equal("[\"class 1\",\"class 2\",\"class 3\",\"class 4\",\"class 5\"]", onnx.Metadata["class_names"]);
        }
    }

    [Fact]
    public void DetectExportRefusesABadCheckpointInOneLine()
    {
        File.WriteAllText(Dir.File("model_config.json"), Config("mobileone_s0").ToJson());
        File.WriteAllBytes(Dir.File("bad.pth.tar"), [1, 2, 3, 4]);
        var path = Dir.File("m.onnx");
        var r = CliTests.Run("detect", "export", "--checkpoint", Dir.File("bad.pth.tar"), "--output", path);
        CliTests.AssertCleanError(r, 1, "bad.pth.tar");
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void OpsetsBeforeThirteenAreRefusedClearly()
    {
        var e = Assert.Throws<MobileOneException>(() => new DetectorExportOptions(Config("mobileone_s0")) { Opset = 12 }.Validated());
        Assert.Contains("opset 13 or newer", e.Message);
    }

    [Fact]
    public void WithNothingAboveTheThresholdTheGraphFindsNothing()
    {
        using var model = Detector(DetectorConfig.MobileNetV3Large);
        BackgroundBias.Shift(model, 100);
        var path = Export(model, DetectorConfig.MobileNetV3Large, nms: true);
        using var onnx = new OnnxDetector(path);
        Assert.Empty(onnx.Detect(RandomImage(1, seed: 3)));
    }

    [Fact]
    public void BenchMeasuresADetectorGraphAtItsOwnSize()
    {
        using (var model = Detector(DetectorConfig.MobileNetV3Large)) Export(model, DetectorConfig.MobileNetV3Large, nms: true);
        var r = CliTests.Run("bench", "--onnx", Dir.File("mobilenet_v3_large_nms.onnx"), "--warmup", "1", "--runs", "3", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var json = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.Equal([Size, Size], json.RootElement.GetProperty("input_size").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(3, json.RootElement.GetProperty("runs").GetInt32());
        var batch = CliTests.Run("bench", "--onnx", Dir.File("mobilenet_v3_large_nms.onnx"), "--batch", "2", "--warmup", "0", "--runs", "1");
        CliTests.AssertCleanError(batch, 1, "takes one image, not 2");
    }

    [Fact]
    public void BenchDetectorsTakesNoOtherModel()
    {
        CliTests.AssertCleanError(CliTests.Run("bench", "--detectors", "--input-size", "224"), 2, "--detectors measures the two detectors itself");
        CliTests.AssertCleanError(CliTests.Run("bench", "--detectors", "--nms-boxes", "many"), 2, "expected a count (0 or more) or 'all'");
        CliTests.AssertCleanError(CliTests.Run("bench", "--nms-boxes", "10"), 2, "--nms-boxes goes with --detectors");
    }
}
