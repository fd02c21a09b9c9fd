namespace MobileOne.Export;

/// <summary>How to export a model to ONNX.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Opsets the exporter can target. MobileOne's graph is the same in all of them; for the zoo, operators
    /// that newer opsets have (HardSwish from 14, LayerNormalization from 17, Gelu from 20) are written
    /// as their definitions in older ones.
    /// </summary>
    public static readonly IReadOnlyList<int> SupportedOpsets = Enumerable.Range(11, 11).ToArray();

    /// <summary>ONNX opset version; 17 by default (what PyTorch 1.13 and Debian's onnx checker know).</summary>
    public int Opset { get; init; } = 17;

    /// <summary>Input height recorded in the graph (ignored when <see cref="DynamicSpatial"/>).</summary>
    public int InputHeight { get; init; } = 224;

    /// <summary>Input width recorded in the graph (ignored when <see cref="DynamicSpatial"/>).</summary>
    public int InputWidth { get; init; } = 224;

    /// <summary>Height and width symbolic too, so any input size runs. The batch is always symbolic.</summary>
    public bool DynamicSpatial { get; init; }

    /// <summary>Normalisation mean the model expects, recorded in the metadata (ImageNet's by default).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Normalisation standard deviation, recorded in the metadata.</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Fraction of the resized image kept by the center crop at evaluation (timm's crop_pct).</summary>
    public double CropPct { get; init; } = 0.875;

    /// <summary>Class names by output index, recorded in the metadata as a JSON array (<c>class_names</c>); null records none.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Checks the options, naming what is wrong; returns them for chaining.</summary>
    public OnnxExportOptions Validated()
    {
        if (!SupportedOpsets.Contains(Opset))
            throw new MobileOneException($"opset {Opset} is not supported; choose one of {SupportedOpsets[0]}-{SupportedOpsets[^1]}");
        if (!DynamicSpatial && (InputHeight < 1 || InputWidth < 1))
            throw new MobileOneException($"input size must be positive, found {InputHeight}x{InputWidth}");
        return this;
    }

    /// <summary>Extra metadata entries (key, value).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}
