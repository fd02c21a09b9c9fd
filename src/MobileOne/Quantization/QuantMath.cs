namespace MobileOne.Quantization;

/// <summary>
/// The arithmetic of int8 post-training quantisation as ONNX defines it: QuantizeLinear rounds half to
/// even and saturates, DequantizeLinear is affine. Activations are uint8 and asymmetric (a range that
/// starts at zero, as after a ReLU, gets zero point 0); weights are int8, symmetric (zero point 0) over
/// [-127, 127], per output channel or per tensor; biases are int32 with the scale s_x * s_w, so that
/// the integer accumulator of a convolution adds them without rescaling.
/// </summary>
public static class QuantMath
{
    /// <summary>The uint8 range of activations.</summary>
    public const int UInt8Min = 0, UInt8Max = 255;

    /// <summary>The int8 range of weights: symmetric, -128 is never produced (as ONNX Runtime's quantiser restricts it).</summary>
    public const int Int8Min = -127, Int8Max = 127;

    /// <summary>saturate(round_half_even(x / scale) + zeroPoint) to [min, max]; NaN maps to the zero point.</summary>
    public static int Quantize(float x, float scale, int zeroPoint, int min, int max)
    {
        // Divide in float32 as ONNX Runtime does, so that ties fall the same way; round in double for the range.
        double r = Math.Round((double)(x / scale), MidpointRounding.ToEven) + zeroPoint;
        if (double.IsNaN(r)) return Math.Clamp(zeroPoint, min, max);
        return r <= min ? min : r >= max ? max : (int)r;
    }

    /// <summary>(q - zeroPoint) * scale.</summary>
    public static float Dequantize(int q, float scale, int zeroPoint) => (q - zeroPoint) * scale;

    /// <summary>
    /// uint8 asymmetric parameters for values in [<paramref name="min"/>, <paramref name="max"/>]: the range is
    /// widened to contain 0 (so zero is exact, as padding needs), scale = (max - min) / 255, zero point
    /// round(-min / scale). A range that starts at 0 (after a ReLU) has zero point 0; an empty range scale 1.
    /// </summary>
    public static QuantParams Activation(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw new MobileOneException($"cannot quantise the range [{min}, {max}]: its ends must be finite and ordered");
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        float scale = (max - min) / (UInt8Max - UInt8Min);
        if (!(scale > 0) || !float.IsNormal(scale)) return new QuantParams(1f, 0, UInt8Min, UInt8Max);
        int zeroPoint = Math.Clamp((int)Math.Round(-min / (double)scale, MidpointRounding.ToEven), UInt8Min, UInt8Max);
        return new QuantParams(scale, zeroPoint, UInt8Min, UInt8Max);
    }

    /// <summary>int8 symmetric parameters for values of magnitude at most <paramref name="absMax"/>: scale absMax / 127, zero point 0; scale 1 for all zeros.</summary>
    public static QuantParams SymmetricWeight(float absMax)
    {
        if (!float.IsFinite(absMax) || absMax < 0) throw new MobileOneException($"cannot quantise weights of magnitude {absMax}: not a finite number");
        float scale = absMax / Int8Max;
        return new QuantParams(float.IsNormal(scale) ? scale : 1f, 0, Int8Min, Int8Max);
    }

    /// <summary>
    /// Symmetric int8 parameters of a weight tensor laid out with <paramref name="channels"/> output channels
    /// on axis 0 (each channel a contiguous run of weights.Length / channels values): one per channel, or
    /// with <paramref name="perChannel"/> false one for the whole tensor, repeated.
    /// </summary>
    public static QuantParams[] WeightParams(ReadOnlySpan<float> weights, int channels, bool perChannel)
    {
        if (channels < 1 || weights.Length % channels != 0)
            throw new MobileOneException($"a weight of {weights.Length} values does not split into {channels} output channels");
        int run = weights.Length / channels;
        var absMax = new float[channels];
        for (int c = 0; c < channels; c++)
            foreach (var v in weights.Slice(c * run, run))
            {
                if (!float.IsFinite(v)) throw new MobileOneException($"a weight of output channel {c} is {v}; only finite weights can be quantised");
                absMax[c] = Math.Max(absMax[c], Math.Abs(v));
            }
        if (!perChannel) Array.Fill(absMax, absMax.Length == 0 ? 0 : absMax.Max());
        return absMax.Select(SymmetricWeight).ToArray();
    }

    /// <summary>Quantises a weight tensor laid out as for <see cref="WeightParams"/>, channel c with <paramref name="parameters"/>[c].</summary>
    public static sbyte[] QuantizeWeights(ReadOnlySpan<float> weights, IReadOnlyList<QuantParams> parameters)
    {
        int run = weights.Length / parameters.Count;
        var q = new sbyte[weights.Length];
        for (int i = 0; i < q.Length; i++) q[i] = (sbyte)parameters[i / run].Quantize(weights[i]);
        return q;
    }

    /// <summary>
    /// The int32 bias of output channel c: round_half_even(b[c] / (s_x * s_w[c])), saturated to int32, so that it adds
    /// to the integer accumulator; returns the values and the scales.
    /// </summary>
    public static (int[] Values, float[] Scales) QuantizeBias(ReadOnlySpan<float> bias, float inputScale, IReadOnlyList<QuantParams> weights)
    {
        if (bias.Length != weights.Count) throw new MobileOneException($"a bias of {bias.Length} values for {weights.Count} output channels");
        var values = new int[bias.Length];
        var scales = new float[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            if (!float.IsFinite(bias[c])) throw new MobileOneException($"the bias of output channel {c} is {bias[c]}; only finite biases can be quantised");
            scales[c] = inputScale * weights[c].Scale;
            double r = Math.Round((double)bias[c] / scales[c], MidpointRounding.ToEven);
            values[c] = r >= int.MaxValue ? int.MaxValue : r <= int.MinValue ? int.MinValue : (int)r;
        }
        return (values, scales);
    }
}
