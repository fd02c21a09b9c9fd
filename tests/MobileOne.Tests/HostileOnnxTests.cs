using Google.Protobuf;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Export.Onnx;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Reparameterization;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>Regression tests for hostile ONNX models and inputs on the command line (issue 11), each file built here.</summary>
public sealed class HostileOnnxTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], false, 2, 4);

    private static ModelProto TinyProto()
    {
        using var model = new MobileOneModel(Tiny);
        model.eval();
        using var fused = Reparameterizer.Fuse(model);
        return OnnxExporter.Build(fused, new OnnxExportOptions { InputHeight = 32, InputWidth = 32 });
    }

    private string Write(string name, ModelProto proto)
    {
        var path = Dir.File(name);
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    [Fact]
    public void AGraphFixingItsInputAtAHundredThousandPixelsIsRefusedAtLoad()
    {
        var proto = TinyProto();
        foreach (var d in proto.Graph.Input[0].Type.TensorType.Shape.Dim.Skip(2)) d.DimValue = 100_000;
        var e = Assert.Throws<ResourceLimitException>(() => new OnnxEngine(Write("huge.onnx", proto)));
        Assert.Contains("100000x100000", e.Message);
        Assert.Contains(ResourceLimits.InputVariable, e.Message);
    }

    [Theory]
    [InlineData("mean", "a,b,c")]
    [InlineData("mean", "0.5,0.5")]
    [InlineData("std", "nan,1,1")]
    [InlineData("std", "0,1,1")]
    [InlineData("crop_pct", "most")]
    [InlineData("crop_pct", "7")]
    public void MalformedPreprocessingMetadataIsNamed(string key, string value)
    {
        var proto = TinyProto();
        proto.MetadataProps.Single(p => p.Key == key).Value = value;
        var path = Write("meta.onnx", proto);
        var e = Assert.ThrowsAny<MobileOneException>(() => ImageClassifier.FromOnnx(path, labels: ["a", "b", "c", "d"]));
        Assert.Contains(path, e.Message);
        Assert.Contains("metadata", e.Message);
    }

    [Fact]
    public void AConvolutionPaddedByTenMillionPixelsFailsInsideTheRuntimesMemoryCap()
    {
        var proto = TinyProto();
        var pads = proto.Graph.Node.First(n => n.OpType == "Conv").Attribute.Single(a => a.Name == "pads");
        pads.Ints.Clear();
        pads.Ints.Add([1, 1, 1, 10_000_000]); // a 16 x 5,000,000 map per channel: 5 GB, above the 4 GiB cap
        using var classifier = ImageClassifier.FromOnnx(Write("padded.onnx", proto), labels: ["a", "b", "c", "d"]);
        var e = Assert.Throws<ResourceLimitException>(() => classifier.Classify([new RgbImage(40, 40, new byte[40 * 40 * 3])]));
        Assert.Contains("running the model on a 1x3x32x32 input needs more than", e.Message);
        Assert.Contains(ResourceLimits.RuntimeVariable, e.Message);
    }

    [Fact]
    public void AMetadataKeyThatIsOnlyANulCharacterIsRefused()
    {
        var proto = TinyProto();
        proto.MetadataProps.Single(p => p.Key == "std").Key = "\0";
        var path = Write("nul.onnx", proto);
        Assert.Contains(path, Assert.ThrowsAny<MobileOneException>(() => new OnnxEngine(path)).Message);
    }

    [Fact]
    public void OnnxRuntimeFailuresWhileRunningAreTheProjectsErrors()
    {
        // Reshape [N, 3, H, W] to [-1, 7]: valid at load, impossible for 12 values at run time.
        var g = new OnnxGraphBuilder(17);
        g.Input("input", [null, 3, null, null], ["batch", "", "height", "width"]);
        var y = g.Node("Reshape", "reshape", ["input", g.Int64Initializer("shape", -1, 7)]);
        g.Output(y, "logits", [null, 7], ["batch", ""]);
        var proto = new ModelProto { IrVersion = 8, Graph = g.Graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        using var engine = new OnnxEngine(Write("reshape.onnx", proto));
        var e = Assert.Throws<MobileOneException>(() => engine.Run(new float[12], 1, 2, 2));
        Assert.Contains("ONNX Runtime failed running the model on a 1x3x2x2 input", e.Message);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(int.MaxValue)] // labels for 2^31 - 1 classes must not be materialised
    public void AnOutputOtherThanTheDeclaredOneIsNamed(int declared)
    {
        // Reshape to [N, -1] through a computed shape, which shape inference cannot see through: ONNX
        // Runtime keeps the declared [N, declared] and the graph produces [N, 3 * H * W].
        var g = new OnnxGraphBuilder(17);
        g.Input("input", [null, 3, null, null], ["batch", "", "height", "width"]);
        var batch = g.Node("Gather", "batch", [g.Node("Shape", "shape", ["input"]), g.Int64Initializer("first", 0)], OnnxGraphBuilder.Int("axis", 0));
        var shape = g.Node("Concat", "target", [batch, g.Int64Initializer("rest", -1)], OnnxGraphBuilder.Int("axis", 0));
        g.Output(g.Node("Reshape", "flatten", ["input", shape]), "logits", [null, declared], ["batch", ""]);
        var proto = new ModelProto { IrVersion = 8, Graph = g.Graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        using var classifier = ImageClassifier.FromOnnx(Write("liar.onnx", proto));
        Assert.Equal(declared, classifier.Engine.NumClasses);
        var e = Assert.Throws<MobileOneException>(() => classifier.Classify([new RgbImage(8, 8, new byte[8 * 8 * 3])]));
        Assert.Contains($"declares {declared} outputs per image but produced {3 * 224 * 224} values", e.Message);
    }

    [Fact]
    public void ForwardOnABatchOfTheWrongShapeIsOneLineWithoutABacktrace()
    {
        using var model = new MobileOneModel(Tiny);
        var checkpoint = Dir.File("tiny.pth");
        Checkpoints.MobileOneCheckpoint.Save(model, checkpoint);
        foreach (var shape in new long[][] { [1, 5, 8, 8], [0, 3, 8, 8], [1, 3, 0, 8], [2, 3] })
        {
            var input = Dir.File("x.npy");
            NpyFile.Write(input, zeros(shape));
            var r = CliTests.Run("forward", "--checkpoint", checkpoint, "--input", input, "--output", Dir.File("y.npy"));
            CliTests.AssertCleanError(r, 1, input);
            Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
            Assert.DoesNotContain("unexpected failure", r.Err);
            Assert.DoesNotContain("Exception raised from", r.Err);
        }
    }
}
