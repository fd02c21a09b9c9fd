using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using MobileOne.Detection;
using MobileOne.Export.Onnx;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// Writes SSDLite as an ONNX graph, from C#, with its boxes decoded in the graph: the input is a fixed square
/// [N, 3, S, S] already scaled to [-1, 1] (<see cref="SsdLite.Normalization"/>, recorded in the metadata with the
/// size and the classes); the backbone (a MobileOne folded first), extra layers and heads with every BatchNorm
/// folded into its convolution; the heads' rows per anchor; <see cref="BoxCoder.Decode"/> against the anchors
/// (initializers), boxes clipped to the input; Softmax over the classes. Then either the boxes and scores of every
/// anchor, or, by default, <see cref="SsdPostprocessor"/>'s detections through ONNX's NonMaxSuppression.
/// </summary>
public static class DetectorExporter
{
    /// <summary>Input name of the exported graph: the classifiers'.</summary>
    public const string InputName = OnnxExporter.InputName;

    /// <summary>Without NMS: every anchor's box, [N, A, 4], x1, y1, x2, y2 in input pixels.</summary>
    public const string BoxesName = "boxes";

    /// <summary>Without NMS: every anchor's class probabilities, [N, A, K], class 0 the background.</summary>
    public const string ScoresName = "scores";

    /// <summary>With NMS: the detections' boxes, [D, 4], x1, y1, x2, y2 in input pixels, best score first.</summary>
    public const string DetectionBoxesName = "det_boxes";

    /// <summary>With NMS: the detections' scores, [D].</summary>
    public const string DetectionScoresName = "det_scores";

    /// <summary>With NMS: the detections' labels, [D] int64, 1..K-1.</summary>
    public const string DetectionLabelsName = "det_labels";

    /// <summary>Builds the ONNX model of <paramref name="model"/>.</summary>
    internal static ModelProto Build(SsdLite model, DetectorExportOptions options)
    {
        options.Validated();
        if (model.NumClasses != options.Config.NumClasses)
            throw new MobileOneException($"ONNX export: the detector has {model.NumClasses} classes but its configuration {options.Config.NumClasses}");
        var folded = DetectorCheckpoint.Fold(model);
        try
        {
            var g = new OnnxGraphBuilder(options.Opset);
            using (no_grad()) Emit(g, folded, options);
            // Every BatchNorm of SSDLite follows a convolution: one left over means a module the fold missed.
            if (g.OpTypes.Contains("BatchNormalization"))
                throw new MobileOneException("ONNX export: the detector's graph would keep a BatchNormalization node; the deployed graph folds every one");
            return OnnxExporter.Assemble(g, Metadata(folded, options));
        }
        finally
        {
            if (!ReferenceEquals(folded, model)) folded.Dispose();
        }
    }

    private static void Emit(OnnxGraphBuilder g, SsdLite model, DetectorExportOptions options)
    {
        int s = options.Config.ImageSize;
        long classes = model.NumClasses;
        g.Input(InputName, [options.Nms ? 1 : null, model.Backbone.Trunk.InChannels, s, s], ["batch", "", "", ""]);
        using var scope = NewDisposeScope();
        var grids = Grids(model, s);
        var anchors = model.Anchors(grids, s, s);
        long count = anchors.shape[0];
        var maps = DetectorEmitters.Backbone(g, model.Backbone, InputName);
        var perCell = model.DefaultBoxes.AnchorsPerLocation;
        var codes = DetectorEmitters.Head(g, "head.regression_head", model.Head.Regression, maps, grids, perCell);
        var logits = DetectorEmitters.Head(g, "head.classification_head", model.Head.Classification, maps, grids, perCell);
        var boxes = DetectorEmitters.Decode(g, model.Coder, codes, anchors, s);
        var scores = g.Node("Softmax", "scores", [logits], OnnxGraphBuilder.Int("axis", -1));
        if (!options.Nms)
        {
            g.Output(boxes, BoxesName, [null, count, 4], ["batch", "", ""]);
            g.Output(scores, ScoresName, [null, count, classes], ["batch", "", ""]);
            return;
        }
        var (detBoxes, detScores, detLabels) = DetectorEmitters.Nms(g, model.Postprocessor, boxes, scores, count, classes);
        g.Output(detBoxes, DetectionBoxesName, [null, 4], ["detections", ""]);
        g.Output(detScores, DetectionScoresName, [null], ["detections"]);
        g.Output(detLabels, DetectionLabelsName, [null], ["detections"], TensorProto.Types.DataType.Int64);
    }

    // The maps' sizes at the export size, from one forward pass: the anchors and the heads' reshapes follow them.
    private static IReadOnlyList<(int Height, int Width)> Grids(SsdLite model, int size)
    {
        using var scope = NewDisposeScope();
        return model.InEvalMode(() => model.ForwardHeads(zeros(1, model.Backbone.Trunk.InChannels, size, size)).Grids);
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] ToBytes(SsdLite model, DetectorExportOptions options) => Build(model, options).ToByteArray();

    /// <summary>Writes the ONNX file atomically.</summary>
    public static void Export(SsdLite model, string path, DetectorExportOptions options) => OnnxExporter.Write(Build(model, options), path);

    private static IEnumerable<(string, string)> Metadata(SsdLite model, DetectorExportOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        var config = o.Config;
        var post = model.Postprocessor;
        var labels = Enumerable.Range(1, model.NumClasses - 1).ToList();
        yield return ("model", config.Name);
        yield return ("task", DetectorConfig.DetectionTask);
        yield return ("config", config.ToJson());
        yield return ("input_size", $"{config.ImageSize}x{config.ImageSize}");
        // The whole image is resized to the square input, without a crop.
        yield return ("resize", "stretch");
        yield return ("mean", string.Join(",", SsdLite.Normalization.Mean.Select(v => v.ToString("R", inv))));
        yield return ("std", string.Join(",", SsdLite.Normalization.Std.Select(v => v.ToString("R", inv))));
        yield return ("num_classes", model.NumClasses.ToString(inv));
        yield return ("class_names", JsonSerializer.Serialize(labels.Select(config.LabelName)));
        yield return ("category_ids", JsonSerializer.Serialize(labels.Select(config.CategoryId)));
        yield return ("box_format", "x1,y1,x2,y2 in input pixels");
        yield return ("nms", o.Nms ? "true" : "false");
        yield return ("score_threshold", post.ScoreThreshold.ToString("R", inv));
        yield return ("top_k_per_class", post.TopKPerClass.ToString(inv));
        yield return ("nms_threshold", post.NmsThreshold.ToString("R", inv));
        yield return ("max_detections", post.MaxDetections.ToString(inv));
    }
}
