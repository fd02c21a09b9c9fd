namespace MobileOne.Quantization;

/// <summary>How calibration turns the values an activation took into the range its uint8 encoding covers.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen: nothing saturates, rare outliers cost resolution.</summary>
    MinMax,

    /// <summary>The magnitude below which 99.99 % of the values fall (from a 2048-bin histogram); the rest saturates.</summary>
    Percentile,

    /// <summary>The clipping threshold whose quantised histogram loses the least information (smallest KL divergence over 2048 bins), as TensorRT calibrates.</summary>
    Entropy,
}

/// <summary>Names of the calibration methods as written on the command line and in the metadata.</summary>
public static class CalibrationMethods
{
    /// <summary>Every method's name, in declaration order.</summary>
    public static readonly IReadOnlyList<string> Names = ["minmax", "percentile", "entropy"];

    /// <summary>The method called <paramref name="name"/> (case-insensitive).</summary>
    public static CalibrationMethod Parse(string name) => name.ToLowerInvariant() switch
    {
        "minmax" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        "entropy" => CalibrationMethod.Entropy,
        _ => throw new MobileOneException($"unknown calibration method '{name}'; expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>The name of <paramref name="method"/>.</summary>
    public static string Name(this CalibrationMethod method) => Names[(int)method];
}
