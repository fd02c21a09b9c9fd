using System.Globalization;
using MobileOne.Data;

namespace MobileOne.Inference;

/// <summary>Reads what the exporters record in an ONNX model's metadata, refusing values they would not write.</summary>
internal static class OnnxMetadata
{
    /// <summary>
    /// <paramref name="fallback"/> with the <c>mean</c> and <c>std</c> the metadata records, where it records them;
    /// an error naming <paramref name="source"/> for values that are not three finite numbers.
    /// </summary>
    public static ImagePreprocessor Normalization(IReadOnlyDictionary<string, string> metadata, ImagePreprocessor fallback, string source)
    {
        var p = fallback;
        if (Floats(metadata, "mean", source) is { } mean) p = p with { Mean = mean };
        if (Floats(metadata, "std", source) is { } std) p = p with { Std = std };
        return p;
    }

    /// <summary>Three finite numbers, comma-separated, or null when the key is absent.</summary>
    private static float[]? Floats(IReadOnlyDictionary<string, string> metadata, string key, string source)
    {
        if (!metadata.TryGetValue(key, out var text)) return null;
        var parts = text.Split(',');
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
                throw Bad(key, text, source);
        return values.Length == 3 ? values : throw Bad(key, text, source);
    }

    /// <summary>
    /// The number the metadata records under <paramref name="key"/>, or <paramref name="fallback"/> when it records none;
    /// an error naming <paramref name="source"/> for a value that is not a number in [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    public static double Number(IReadOnlyDictionary<string, string> metadata, string key, double fallback, double min, double max, string source)
    {
        if (!metadata.TryGetValue(key, out var text)) return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v
            : throw new MobileOneException($"{source}: metadata '{key}' = '{IO.MessageText.Shorten(text, 40)}' is not a number in [{min}, {max}]");
    }

    // A mean or std the exporter would not have written.
    private static MobileOneException Bad(string key, string value, string source) =>
        new($"{source}: metadata '{key}' = '{IO.MessageText.Shorten(value, 60)}' is not what the exporter writes (three numbers for mean and std)");
}
