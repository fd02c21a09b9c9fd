using System.Text.Json;
using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Detection;
using MobileOne.Segmentation;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>DeepLabV3-MobileNetV3-Large against torchvision's own definition: structure, parameters and logits.</summary>
public sealed class DeepLabV3ParityTests(DeepLabV3Reference reference, ITestOutputHelper output) : IClassFixture<DeepLabV3Reference>
{
    private static List<string> Layout(JsonElement keys) =>
        keys.EnumerateArray().Select(k => $"{k[0].GetString()} {CheckpointTensor.FormatShape(k[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())}").ToList();

    private static List<string> Layout(DeepLabV3 model) =>
        MobileOneCheckpoint.ToStateDict(model).Select(kv => $"{kv.Key} {CheckpointTensor.FormatShape(kv.Value.Shape)}").ToList();

    [SkippableTheory]
    [InlineData(false, "keys", "params")]
    [InlineData(true, "aux_keys", "aux_params")]
    public void StateDictAndParameterCountEqualTorchvisions(bool aux, string keys, string parameters)
    {
        using var info = JsonDocument.Parse(File.ReadAllText(reference.File("info.json")));
        using var scope = NewDisposeScope();
        var model = new SegmenterConfig(SegmenterConfig.MobileNetV3Large, Aux: aux).Create();
        Assert.Equal(Layout(info.RootElement.GetProperty(keys)), Layout(model));
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(info.RootElement.GetProperty(parameters).GetInt64(), count);
        // torchvision's weights for VOC carry the auxiliary head: 11,029,328 parameters; without it 3,851 fewer.
        Assert.Equal(aux ? 11_029_328 : 11_025_477, count);
        output.WriteLine($"aux {aux}: {info.RootElement.GetProperty(keys).GetArrayLength()} state-dict entries, {count:N0} parameters, as torchvision's");
    }

    [SkippableFact]
    public void TorchvisionsWeightsGiveItsLogits()
    {
        using var scope = NewDisposeScope();
        var model = new SegmenterConfig(SegmenterConfig.MobileNetV3Large).Create();
        MobileOneCheckpoint.LoadInto(model, CheckpointFile.Read(reference.File("weights.pth")), "torchvision's deeplabv3_mobilenet_v3_large");
        model.eval();
        var x = NpyFile.Read(reference.File("input.npy"));
        using var noGrad = no_grad();
        var logits = model.forward(x);
        var expected = NpyFile.Read(reference.File("logits.npy"));
        Assert.Equal([2L, 21, 128, 96], logits.shape);
        double scale = expected.abs().max().item<float>();
        double diff = TensorAssert.Close(expected, logits, 1e-4 * Math.Max(1, scale), "logits");
        output.WriteLine($"logits 2x21x128x96: max |ours - torchvision| {diff:E2} (largest logit {scale:F2})");
    }
}

/// <summary>DeepLabV3 on MobileOne: shapes at odd sizes, both output strides, the auxiliary head, and the fold.</summary>
public sealed class DeepLabV3MobileOneTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    public void LogitsHaveTheInputSizeAtOddSizes(int outputStride)
    {
        using var scope = NewDisposeScope();
        var config = new SegmenterConfig("mobileone_s0", NumClasses: 5, OutputStride: outputStride, Aux: true);
        var model = config.Create(seed: 1);
        model.eval();
        var trunk = Assert.IsType<MobileOneTrunk>(model.Backbone);
        // The auxiliary head reads the stride-8 map: stage 2 at output stride 16, the dilated stage 3 at 8.
        Assert.Equal([outputStride == 16 ? 2 : 3, 4], trunk.MapStages);
        Assert.Equal(config.Rates, outputStride == 16 ? [12, 24, 36] : [24, 48, 72]);
        using var noGrad = no_grad();
        var x = randn(2, 3, 97, 75, generator: new Generator(2));
        var maps = trunk.call(x);
        // 97x75 at stride 8 is 13x10 (each stride-2 layer rounds up), at 16 it is 7x5.
        Assert.Equal([2L, outputStride == 16 ? 128 : 256, 13, 10], maps[0].shape);
        Assert.Equal(outputStride == 16 ? [2L, 1024, 7, 5] : [2L, 1024, 13, 10], maps[1].shape);
        var (logits, aux) = model.ForwardWithAux(x);
        Assert.Equal([2L, 5, 97, 75], logits.shape);
        Assert.Equal([2L, 5, 97, 75], aux!.shape);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    public void FoldedEqualsUnfolded(int outputStride)
    {
        using var scope = NewDisposeScope();
        var config = new SegmenterConfig("mobileone_s0", NumClasses: 4, OutputStride: outputStride);
        var model = ModelFactory.Calibrate(config.Create(), seed: outputStride);
        var folded = SegmenterFold.Fold(model, config);
        Assert.True(((MobileOneTrunk)folded.Backbone).Network.IsFused);
        using var noGrad = no_grad();
        var x = randn(1, 3, 83, 61, generator: new Generator(3));
        var expected = model.forward(x);
        double scale = expected.abs().max().item<float>();
        double diff = TensorAssert.Close(expected, folded.forward(x), 1e-4 * Math.Max(1, scale), $"OS {outputStride} logits");
        output.WriteLine($"OS {outputStride}: max |folded - unfolded| {diff:E2} (largest logit {scale:F2})");
        // Nothing to fold in a folded segmenter or in MobileNetV3.
        Assert.Same(folded, SegmenterFold.Fold(folded, config));
    }

    [Fact]
    public void AsppKeepsTheMapAndGives256Channels()
    {
        using var scope = NewDisposeScope();
        var aspp = new Aspp(64, [12, 24, 36]);
        aspp.eval();
        using var noGrad = no_grad();
        Assert.Equal([3L, 256, 9, 14], aspp.call(randn(3, 64, 9, 14)).shape);
        // Five branches of 256 channels: 1x1, three dilated 3x3, image pooling; then the 1x1 projection.
        var state = MobileOneCheckpoint.ToStateDict(aspp);
        Assert.Equal([256L, 64, 1, 1], state["convs.0.0.weight"].Shape);
        Assert.Equal([256L, 64, 3, 3], state["convs.3.0.weight"].Shape);
        Assert.Equal([256L, 64, 1, 1], state["convs.4.1.weight"].Shape);
        Assert.Equal([256L, 1280, 1, 1], state["project.0.weight"].Shape);
    }

    [Fact]
    public void ConfigurationRoundTripsAndRefusesNonsense()
    {
        var config = new SegmenterConfig("mobileone_s2", NumClasses: 11, OutputStride: 8, Aux: true);
        Assert.Equal(config, SegmenterConfig.FromJson(config.ToJson(), "model_config.json"));
        Assert.Equal("deeplabv3_mobileone_s2_os8", config.Name);
        Assert.Equal("deeplabv3_mobilenet_v3_large", new SegmenterConfig("mobilenet_v3_large").Name);
        void Refused(SegmenterConfig c, string message) =>
            Assert.Contains(message, Assert.Throws<MobileOneException>(() => c.Validate("cfg.json")).Message);
        Refused(config with { Backbone = "resnet50" }, "cfg.json: unknown segmenter backbone 'resnet50'");
        Refused(config with { NumClasses = 0 }, "needs 1 to 255 classes");
        Refused(config with { NumClasses = 256 }, "needs 1 to 255 classes");
        Refused(config with { OutputStride = 32 }, "the output stride must be 16 or 8, found 32");
        Refused(new SegmenterConfig("mobilenet_v3_large", OutputStride: 8), "mobilenet_v3_large runs at output stride 16 only");
        var detector = new DetectorConfig("mobileone_s0").ToJson();
        Assert.Contains("not a segmenter configuration (task 'detect'", Assert.Throws<MobileOneException>(() => SegmenterConfig.FromJson(detector, "x.json")).Message);
    }
}
