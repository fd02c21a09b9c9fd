namespace MobileOne.Quantization;

/// <summary>
/// The affine map between real values and integers of one quantised tensor (or one channel of it):
/// real = (q - ZeroPoint) * Scale, q saturated to [<see cref="Min"/>, <see cref="Max"/>].
/// </summary>
/// <param name="Scale">The real step between consecutive integers; positive.</param>
/// <param name="ZeroPoint">The integer that stands for real zero.</param>
/// <param name="Min">The smallest integer of the type (0 for uint8, -128 for int8).</param>
/// <param name="Max">The largest integer of the type (255 for uint8, 127 for int8).</param>
public readonly record struct QuantParams(float Scale, int ZeroPoint, int Min, int Max)
{
    /// <summary>The integer that stands for <paramref name="x"/>: round(x / scale) half to even, plus the zero point, saturated (ONNX QuantizeLinear).</summary>
    public int Quantize(float x) => QuantMath.Quantize(x, Scale, ZeroPoint, Min, Max);

    /// <summary>The real value <paramref name="q"/> stands for (ONNX DequantizeLinear).</summary>
    public float Dequantize(int q) => QuantMath.Dequantize(q, Scale, ZeroPoint);
}
