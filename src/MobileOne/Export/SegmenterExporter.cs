using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using MobileOne.Export.Onnx;
using MobileOne.Segmentation;
using static TorchSharp.torch;
using static MobileOne.Export.OnnxGraphBuilder;

namespace MobileOne.Export;

/// <summary>
/// Writes DeepLabV3 as an ONNX graph, from C#, for any input size: the input [N, 3, H, W] with N, H and W symbolic,
/// normalised with ImageNet's mean and deviation (recorded in the metadata with the classes); the backbone (a MobileOne
/// folded first) and the DeepLab head with every BatchNorm folded into its convolution; ASPP's pooled branch spread
/// over the map by Expand to the map's own shape; the logits resized bilinearly (half-pixel centres, as PyTorch's
/// align_corners=False) to the input's own height and width. The output is the logits [N, K, H, W]; their argmax over
/// K is the class of each pixel. The auxiliary head, a training aid, is left out.
/// </summary>
public static class SegmenterExporter
{
    /// <summary>Input name of the exported graph: the classifiers'.</summary>
    public const string InputName = OnnxExporter.InputName;

    /// <summary>Output name: the logits [N, K, H, W] at the input's size.</summary>
    public const string OutputName = OnnxExporter.OutputName;

    /// <summary>Builds the ONNX model of <paramref name="model"/>.</summary>
    internal static ModelProto Build(DeepLabV3 model, SegmenterExportOptions options)
    {
        Check(model, options);
        var folded = SegmenterFold.Fold(model, options.Config);
        try
        {
            var g = new OnnxGraphBuilder(options.Opset);
            g.Input(InputName, [null, folded.Backbone.InChannels, null, null], ["batch", "", "height", "width"]);
            string logits;
            using (no_grad()) logits = Emit(g, folded);
            g.Output(logits, OutputName, [null, folded.NumClasses, null, null], ["batch", "", "height", "width"]);
            // Every BatchNorm of DeepLabV3 follows a convolution: one left over means a module the fold missed.
            if (g.OpTypes.Contains("BatchNormalization"))
                throw new MobileOneException("ONNX export: the segmenter's graph would keep a BatchNormalization node; the deployed graph folds every one");
            return OnnxExporter.Assemble(g, Metadata(folded, options));
        }
        finally
        {
            if (!ReferenceEquals(folded, model)) folded.Dispose();
        }
    }

    /// <summary>Checks the options and that they describe <paramref name="model"/>; a clear error otherwise.</summary>
    public static void Check(DeepLabV3 model, SegmenterExportOptions options)
    {
        options.Validated();
        if (model.NumClasses != options.Config.NumClasses)
            throw new MobileOneException($"ONNX export: the segmenter has {model.NumClasses} classes but its configuration {options.Config.NumClasses}");
    }

    private static string Emit(OnnxGraphBuilder g, DeepLabV3 model)
    {
        var maps = DetectorEmitters.Trunk(g, "backbone", model.Backbone, InputName);
        var logits = OnnxModuleEmitter.Emit(g, "classifier", model.Classifier, maps[^1]);
        return OnnxModuleEmitter.ResizeBilinearLike(g, "upsample", logits, InputName);
    }

    /// <summary>The five branches on one input, concatenated, then the projection.</summary>
    internal static string Aspp(OnnxGraphBuilder g, string name, Aspp aspp, string x)
    {
        var branches = aspp.Branches.Select((b, i) => OnnxModuleEmitter.Emit(g, $"{name}.convs.{i}", b, x)).ToList();
        return OnnxModuleEmitter.Emit(g, name + ".project", aspp.Project, g.Node("Concat", name + ".concat", branches, Int("axis", 1)));
    }

    /// <summary>Global pooling, convolution with BatchNorm folded, ReLU, then Expand to the input map's shape.</summary>
    internal static string Pooling(OnnxGraphBuilder g, string name, AsppPooling pooling, string x)
    {
        var pooled = OnnxModuleEmitter.Emit(g, name, pooling.Pooled, x);
        var shape = g.Node("Concat", name + ".shape",
            [OnnxModuleEmitter.ShapeSlice(g, name + ".batch_and_channels", pooled, 0, 2), OnnxModuleEmitter.ShapeSlice(g, name + ".spatial", x, 2, 4)], Int("axis", 0));
        return g.Node("Expand", name + ".spread", [pooled, shape]);
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] ToBytes(DeepLabV3 model, SegmenterExportOptions options) => Build(model, options).ToByteArray();

    private static IEnumerable<(string, string)> Metadata(DeepLabV3 model, SegmenterExportOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var config = o.Config;
        yield return ("model", config.Name);
        yield return ("task", SegmenterConfig.SegmentationTask);
        yield return ("config", config.ToJson());
        yield return ("input_size", "dynamic");
        // The image at its own size, no resize or crop: the logits come back at that size.
        yield return ("resize", "none");
        yield return ("mean", string.Join(",", DeepLabV3.Normalization.Mean.Select(v => v.ToString("R", inv))));
        yield return ("std", string.Join(",", DeepLabV3.Normalization.Std.Select(v => v.ToString("R", inv))));
        yield return ("num_classes", model.NumClasses.ToString(inv));
        yield return ("ignore_label", SegmentationData.Ignore.ToString(inv));
        if (o.ClassNames is { } names) yield return (OnnxExporter.ClassNamesKey, JsonSerializer.Serialize(names));
    }
}
