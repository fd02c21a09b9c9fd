namespace MobileOne.Quantization;

/// <summary>How to quantise a float model.</summary>
public sealed record QuantizationOptions
{
    /// <summary>Samples of the calibration set to run (at most; fewer when the set is smaller).</summary>
    public int Samples { get; init; } = 512;

    /// <summary>How calibrated values become activation ranges.</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>One weight scale per output channel (axis 0), else one per tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>Layers left in float: <c>stem</c>, <c>classifier</c>, node names, or prefixes of node names (<c>stage0</c>).</summary>
    public IReadOnlyList<string> KeepFloat { get; init; } = [];

    /// <summary>Shift each quantised node's bias by the mean error quantisation adds to its output (see <see cref="Quantization.BiasCorrection"/>).</summary>
    public bool BiasCorrection { get; init; }

    /// <summary>Samples of the calibration set the finished model is checked on against the float one.</summary>
    public int CheckSamples { get; init; } = 64;

    /// <summary>Checks the options, naming what is wrong; returns them for chaining.</summary>
    public QuantizationOptions Validated()
    {
        if (Samples < 1) throw new MobileOneException($"calibration needs at least one sample, asked for {Samples}");
        if (CheckSamples < 1) throw new MobileOneException($"the check needs at least one sample, asked for {CheckSamples}");
        if (KeepFloat.Any(string.IsNullOrWhiteSpace)) throw new MobileOneException("an empty layer name among the layers to keep in float");
        return this;
    }
}
