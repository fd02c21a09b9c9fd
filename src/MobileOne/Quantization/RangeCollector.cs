namespace MobileOne.Quantization;

/// <summary>
/// The values one activation takes over the calibration set: its smallest and largest value (the first pass)
/// and, for the histogram methods, a histogram of magnitudes over [0, max |x|] (the second pass, once the
/// first fixed the histogram's range). Counts are integers, so the result does not depend on how the samples
/// were split into batches.
/// </summary>
public sealed class RangeCollector
{
    /// <summary>Bins of the magnitude histogram.</summary>
    public const int Bins = 2048;

    /// <summary>The fraction of magnitudes the percentile method keeps inside the range.</summary>
    public const double Percentile = 0.9999;

    private long[]? histogram;

    /// <summary>Smallest value seen (+infinity before any).</summary>
    public float Min { get; private set; } = float.PositiveInfinity;

    /// <summary>Largest value seen (-infinity before any).</summary>
    public float Max { get; private set; } = float.NegativeInfinity;

    /// <summary>Number of values the first pass saw.</summary>
    public long Count { get; private set; }

    /// <summary>The largest magnitude seen: the histogram's upper end.</summary>
    public float AbsMax => Count == 0 ? 0 : Math.Max(Math.Abs(Min), Math.Abs(Max));

    /// <summary>The magnitude histogram (null before the second pass).</summary>
    public IReadOnlyList<long>? Histogram => histogram;

    /// <summary>First pass: widens [Min, Max] to <paramref name="values"/>; a NaN or an infinity is refused, naming <paramref name="tensor"/>.</summary>
    public void AddRange(ReadOnlySpan<float> values, string tensor)
    {
        float min = Min, max = Max;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) throw new MobileOneException($"calibration: activation '{tensor}' took the value {v}; only finite activations can be quantised");
            if (v < min) min = v;
            if (v > max) max = v;
        }
        (Min, Max) = (min, max);
        Count += values.Length;
    }

    /// <summary>Second pass: counts the magnitudes of <paramref name="values"/> into <see cref="Bins"/> bins over [0, <see cref="AbsMax"/>].</summary>
    public void AddHistogram(ReadOnlySpan<float> values)
    {
        histogram ??= new long[Bins];
        float top = AbsMax;
        if (!(top > 0)) { histogram[0] += values.Length; return; }
        float perBin = Bins / top;
        foreach (var v in values) histogram[Math.Min((int)(Math.Abs(v) * perBin), Bins - 1)]++;
    }

    /// <summary>
    /// The range the uint8 encoding covers under <paramref name="method"/>: [Min, Max] for min-max; otherwise the
    /// seen range clipped to [-T, T], T the method's magnitude threshold.
    /// </summary>
    public (float Min, float Max) Range(CalibrationMethod method)
    {
        if (Count == 0) throw new MobileOneException("calibration saw no values");
        if (method == CalibrationMethod.MinMax) return (Min, Max);
        if (histogram is null) throw new InvalidOperationException("the histogram pass has not run");
        float width = AbsMax / Bins;
        int bins = method == CalibrationMethod.Percentile ? HistogramThresholds.PercentileBins(histogram, Percentile) : HistogramThresholds.EntropyBins(histogram, Min >= 0 ? 255 : 127);
        float t = bins * width;
        return (Math.Max(Min, -t), Math.Min(Max, t));
    }
}
