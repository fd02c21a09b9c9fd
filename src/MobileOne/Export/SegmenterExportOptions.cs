using MobileOne.Segmentation;

namespace MobileOne.Export;

/// <summary>How to export a segmenter to ONNX.</summary>
/// <param name="Config">The segmenter's configuration.</param>
public sealed record SegmenterExportOptions(SegmenterConfig Config)
{
    /// <summary>The lowest opset the segmenter's graph targets: Resize to sizes computed in the graph is opset 11's, Slice as used opset 13's.</summary>
    public const int MinOpset = 13;

    /// <summary>Opsets the segmenter's export can target.</summary>
    public static IReadOnlyList<int> SupportedOpsets { get; } = OnnxExportOptions.SupportedOpsets.Where(o => o >= MinOpset).ToArray();

    /// <summary>ONNX opset version; 17 by default, as for classifiers.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>The class names by index, recorded in the metadata (<c>class_names</c>); null: none recorded.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Checks the options, naming what is wrong; returns them for chaining.</summary>
    public SegmenterExportOptions Validated()
    {
        if (!SupportedOpsets.Contains(Opset))
            throw new MobileOneException($"opset {Opset} is not supported for a segmenter, whose graph needs opset {MinOpset} or newer; choose one of {SupportedOpsets[0]}-{SupportedOpsets[^1]}");
        Config.Validate("the segmenter's configuration");
        if (ClassNames is { } names && names.Count != Config.NumClasses)
            throw new MobileOneException($"{names.Count} class names for a segmenter of {Config.NumClasses} classes");
        return this;
    }
}
