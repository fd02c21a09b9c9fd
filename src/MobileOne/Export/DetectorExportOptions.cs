using MobileOne.Detection;

namespace MobileOne.Export;

/// <summary>How to export a detector to ONNX.</summary>
/// <param name="Config">The detector's configuration: its square input size (the anchors are laid out for it), classes and category names.</param>
public sealed record DetectorExportOptions(DetectorConfig Config)
{
    /// <summary>
    /// The lowest opset the detector's graph targets: Softmax over one axis of a 3-d tensor, and Slice, Clip and
    /// GatherND as the graph uses them, are opset 13's.
    /// </summary>
    public const int MinOpset = 13;

    /// <summary>Opsets the detector's export can target.</summary>
    public static IReadOnlyList<int> SupportedOpsets { get; } = OnnxExportOptions.SupportedOpsets.Where(o => o >= MinOpset).ToArray();

    /// <summary>ONNX opset version; 17 by default, as for classifiers.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>
    /// Non-maximum suppression in the graph (the default): batch 1, and the detections as <c>det_boxes</c> [D, 4],
    /// <c>det_scores</c> [D] and <c>det_labels</c> [D]. Without it the graph ends at every anchor's <c>boxes</c>
    /// [N, A, 4] and <c>scores</c> [N, A, K], for any batch.
    /// </summary>
    public bool Nms { get; init; } = true;

    /// <summary>Checks the options, naming what is wrong; returns them for chaining.</summary>
    public DetectorExportOptions Validated()
    {
        if (!SupportedOpsets.Contains(Opset))
            throw new MobileOneException($"opset {Opset} is not supported for a detector, whose graph needs opset {MinOpset} or newer; choose one of {SupportedOpsets[0]}-{SupportedOpsets[^1]}");
        Config.Validate("the detector's configuration");
        return this;
    }
}
