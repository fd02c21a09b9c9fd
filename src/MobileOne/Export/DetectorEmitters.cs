using MobileOne.Detection;
using TorchSharp;
using static TorchSharp.torch;
using static MobileOne.Export.OnnxGraphBuilder;

namespace MobileOne.Export;

/// <summary>
/// ONNX nodes of SSDLite: the backbone's six maps, the heads' per-anchor rows, SSD's box decoding against the
/// anchors, and the post-processing of <see cref="SsdPostprocessor"/> with ONNX's NonMaxSuppression.
/// </summary>
internal static class DetectorEmitters
{
    /// <summary>A trunk's chain under <paramref name="prefix"/>; returns its maps (a detector's or a segmenter's backbone).</summary>
    public static List<string> Trunk(OnnxGraphBuilder g, string prefix, FeatureTrunk trunk, string x)
    {
        var maps = new List<string>();
        foreach (var part in trunk.Chain)
        {
            x = OnnxModuleEmitter.Emit(g, $"{prefix}.{part.Name}", part.Module, x);
            if (part.IsMap) maps.Add(x);
        }
        return maps;
    }

    /// <summary>The trunk's chain, then the extra layers; returns the six maps.</summary>
    public static IReadOnlyList<string> Backbone(OnnxGraphBuilder g, SsdLiteBackbone backbone, string x)
    {
        var maps = Trunk(g, $"backbone.{backbone.Trunk.StateName}", backbone.Trunk, x);
        for (int i = 0; i < backbone.Extra.Count; i++) maps.Add(OnnxModuleEmitter.Emit(g, $"backbone.extra.{i}", backbone.Extra[i], maps[^1]));
        return maps;
    }

    /// <summary>
    /// A head over every map: [N, A x C, H, W] to [N, A, C, H, W], to [N, H, W, A, C], to [N, H x W x A, C];
    /// concatenated over the maps, in the anchors' order.
    /// </summary>
    public static string Head(OnnxGraphBuilder g, string name, ScoringHead head, IReadOnlyList<string> maps,
        IReadOnlyList<(int Height, int Width)> grids, IReadOnlyList<int> anchorsPerCell)
    {
        long c = head.Columns;
        var rows = new List<string>();
        for (int i = 0; i < maps.Count; i++)
        {
            var level = $"{name}.module_list.{i}";
            var (h, w) = grids[i];
            long a = anchorsPerCell[i];
            var y = OnnxModuleEmitter.Emit(g, level, head.Layers[i], maps[i]);
            y = g.Node("Reshape", level + ".split", [y, g.Int64Initializer(level + ".split.shape", 0, a, c, h, w)]);
            y = g.Node("Transpose", level + ".cells_first", [y], Ints("perm", 0, 3, 4, 1, 2));
            rows.Add(g.Node("Reshape", level + ".rows", [y, g.Int64Initializer(level + ".rows.shape", 0, h * w * a, c)]));
        }
        return g.Node("Concat", name + ".concat", rows, Int("axis", 1));
    }

    /// <summary>
    /// <see cref="BoxCoder.Decode"/> of [N, A, 4] codes against the [A, 4] anchors (their centres and sizes as
    /// initializers), in its order of operations, then the boxes clipped to the <paramref name="size"/>-pixel square input.
    /// </summary>
    public static string Decode(OnnxGraphBuilder g, BoxCoder coder, string codes, Tensor anchors, int size)
    {
        using var scope = NewDisposeScope();
        var (ax, ay, aw, ah) = BoxCoder.Centres(anchors);
        var centres = g.Initializer("anchors.centres", stack([ax, ay], 1));
        var sizes = g.Initializer("anchors.sizes", stack([aw, ah], 1));
        string Pair(string part, long start) => g.Node("Slice", "decode." + part,
            [codes, g.Int64Initializer($"decode.{part}.starts", start), g.Int64Initializer($"decode.{part}.ends", start + 2), g.Int64Initializer($"decode.{part}.axes", 2)]);
        string Weights(string part, double a, double b) => g.Initializer($"decode.{part}.weights", tensor(new[] { (float)a, (float)b }));
        var shift = g.Node("Div", "decode.shift", [Pair("dxy", 0), Weights("dxy", coder.Wx, coder.Wy)]);
        var cxy = g.Node("Add", "decode.centres", [g.Node("Mul", "decode.shift_pixels", [shift, sizes]), centres]);
        var logSize = g.Node("Div", "decode.log_size", [Pair("dwh", 2), Weights("dwh", coder.Ww, coder.Wh)]);
        logSize = g.Node("Min", "decode.clamp", [logSize, g.Scalar("decode.clamp.max", (float)BoxCoder.ScaleClamp)]);
        var wh = g.Node("Mul", "decode.sizes", [g.Node("Exp", "decode.exp", [logSize]), sizes]);
        var half = g.Node("Mul", "decode.half", [wh, g.Scalar("decode.half.factor", 0.5f)]);
        var corners = g.Node("Concat", "decode.corners",
            [g.Node("Sub", "decode.top_left", [cxy, half]), g.Node("Add", "decode.bottom_right", [cxy, half])], Int("axis", -1));
        return g.Node("Clip", "decode.clip", [corners, g.Scalar("decode.clip.min", 0), g.Scalar("decode.clip.max", size)]);
    }

    /// <summary>
    /// <see cref="SsdPostprocessor"/> on one image's [1, A, 4] boxes and [1, A, K] scores: per class (the background
    /// left out) the best <see cref="SsdPostprocessor.TopKPerClass"/> scores kept and the rest set to 0; NonMaxSuppression
    /// per class above the score threshold; the survivors' boxes, scores and labels (class + 1); the best
    /// <see cref="SsdPostprocessor.MaxDetections"/> of them by TopK.
    /// </summary>
    public static (string Boxes, string Scores, string Labels) Nms(OnnxGraphBuilder g, SsdPostprocessor post, string boxes, string scores, long anchors, long classes)
    {
        var perClass = g.Node("Slice", "nms.classes",
            [scores, g.Int64Initializer("nms.classes.starts", 1), g.Int64Initializer("nms.classes.ends", classes), g.Int64Initializer("nms.classes.axes", 2)]);
        perClass = g.Node("Transpose", "nms.classes_first", [perClass], Ints("perm", 0, 2, 1));
        // Unsorted: only which scores are kept matters here, and selecting them costs a fraction of sorting them.
        var top = g.Nodes("TopK", "nms.top_k", [perClass, g.Int64Initializer("nms.top_k.k", Math.Min(post.TopKPerClass, anchors))], 2, Int("axis", -1), Int("sorted", 0));
        var zeros = g.Node("ConstantOfShape", "nms.zeros", [g.Node("Shape", "nms.shape", [perClass])]);
        var kept = g.Node("ScatterElements", "nms.kept", [zeros, top[1], top[0]], Int("axis", -1));
        var selected = g.Node("NonMaxSuppression", "nms",
            [boxes, kept, g.Int64Initializer("nms.max_boxes", post.TopKPerClass), g.Scalar("nms.iou", (float)post.NmsThreshold), g.Scalar("nms.score", (float)post.ScoreThreshold)],
            Int("center_point_box", 0));
        string Column(string part, long i) => g.Node("Gather", "nms." + part, [selected, g.Int64Scalar($"nms.{part}.index", i)], Int("axis", 1));
        var anchorIndex = Column("anchor", 2);
        var labels = g.Node("Add", "nms.labels", [Column("class", 1), g.Int64Initializer("nms.labels.offset", 1)]);
        var found = g.Node("GatherND", "nms.scores", [kept, selected]);
        var flat = g.Node("Reshape", "nms.flat_boxes", [boxes, g.Int64Initializer("nms.flat_boxes.shape", -1, 4)]);
        var foundBoxes = g.Node("Gather", "nms.boxes", [flat, anchorIndex], Int("axis", 0));
        var k = g.Node("Min", "nms.count", [g.Node("Shape", "nms.found", [found]), g.Int64Initializer("nms.max_detections", post.MaxDetections)]);
        var best = g.Nodes("TopK", "nms.best", [found, k], 2, Int("axis", 0));
        string Take(string part, string values) => g.Node("Gather", "nms.best_" + part, [values, best[1]], Int("axis", 0));
        return (Take("boxes", foundBoxes), best[0], Take("labels", labels));
    }
}
