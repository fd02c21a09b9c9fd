using System.Globalization;
using System.Text.Json;

namespace MobileOne.Quantization;

/// <summary>What a quantisation did and how the int8 model compares with the float one.</summary>
/// <param name="Output">The int8 model's file (empty when it was not written).</param>
/// <param name="Method">The calibration method.</param>
/// <param name="PerChannel">Whether weights have one scale per output channel.</param>
/// <param name="Calibration">The calibration samples.</param>
/// <param name="Samples">How many samples calibration ran.</param>
/// <param name="QuantizedNodes">Conv, Gemm and MatMul nodes whose weights became int8.</param>
/// <param name="QuantizedActivations">Activations given a QuantizeLinear/DequantizeLinear pair.</param>
/// <param name="FoldedRelus">Relu nodes folded into the uint8 encoding of their input.</param>
/// <param name="KeptFloat">Nodes left in float on request.</param>
/// <param name="FloatBytes">Size of the float model.</param>
/// <param name="Int8Bytes">Size of the int8 model.</param>
/// <param name="Check">The int8 model against the float one on the first calibration samples.</param>
/// <param name="RuntimeOps">The operators ONNX Runtime runs after optimising the int8 model, with counts (QLinearConv where the QDQ pairs fused).</param>
public sealed record QuantizationReport(string Output, CalibrationMethod Method, bool PerChannel, string Calibration, int Samples,
    int QuantizedNodes, int QuantizedActivations, int FoldedRelus, IReadOnlyList<string> KeptFloat, long FloatBytes, long Int8Bytes, QuantizationCheck Check,
    IReadOnlyList<(string OpType, int Count)> RuntimeOps)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Biases shifted by bias correction (0 without it).</summary>
    public int CorrectedBiases { get; init; }

    /// <summary>The largest shift bias correction made, in the units of the node's output.</summary>
    public double MaxBiasShift { get; init; }

    /// <summary>The int8 file's size as a fraction of the float file's.</summary>
    public double SizeRatio => (double)Int8Bytes / FloatBytes;

    /// <summary>The report as lines of text.</summary>
    public IEnumerable<string> TextLines()
    {
        yield return string.Format(Inv, "wrote {0} ({1:F2} MB, {2:F3}x the float model's {3:F2} MB)", Output, Int8Bytes / 1e6, SizeRatio, FloatBytes / 1e6);
        yield return $"calibrated on {Calibration}: {Samples:N0} samples, {Method.Name()}; weights int8 {(PerChannel ? "per channel" : "per tensor")}, activations uint8";
        yield return $"{QuantizedNodes} nodes quantised, {QuantizedActivations} activations, {FoldedRelus} Relus folded" +
                     (KeptFloat.Count > 0 ? $"; kept in float: {string.Join(", ", KeptFloat)}" : "");
        if (CorrectedBiases > 0) yield return string.Format(Inv, "bias correction: {0} biases shifted by the mean error of their outputs, at most {1:G3}", CorrectedBiases, MaxBiasShift);
        yield return "ONNX Runtime runs: " + string.Join(", ", RuntimeOps.Select(o => $"{o.OpType} x{o.Count}"));
        yield return Check.Summary;
    }

    /// <summary>The report as one JSON object.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["output"] = Output, ["method"] = Method.Name(), ["per_channel"] = PerChannel, ["calibration"] = Calibration, ["samples"] = Samples,
        ["bias_corrected"] = CorrectedBiases, ["max_bias_shift"] = MaxBiasShift, ["quantized_nodes"] = QuantizedNodes, ["quantized_activations"] = QuantizedActivations, ["folded_relus"] = FoldedRelus, ["kept_float"] = KeptFloat,
        ["float_bytes"] = FloatBytes, ["int8_bytes"] = Int8Bytes, ["size_ratio"] = SizeRatio,
        ["check_samples"] = Check.Samples, ["check_measure"] = Check.Measure, ["check_compared"] = Check.Compared,
        ["check_agreement"] = double.IsNaN(Check.Agreement) ? null : Check.Agreement, ["check_max_difference"] = Check.MaxDifference,
        ["runtime_ops"] = RuntimeOps.ToDictionary(o => o.OpType, o => o.Count),
    });
}

/// <summary>The int8 model run by ONNX Runtime beside the float one on the same samples.</summary>
/// <param name="Samples">Samples compared.</param>
/// <param name="Measure">What was compared, as a plural noun: images (top-1 class), pixels (class), or confident detections.</param>
/// <param name="Compared">How many of those there were.</param>
/// <param name="Agreement">Fraction of them on which the int8 model agrees with the float one (NaN when there were none).</param>
/// <param name="MaxDifference">Largest absolute difference between their outputs (logits, or the scores of matched detections).</param>
/// <param name="MaxValue">Largest absolute float output (the scale of the difference).</param>
public sealed record QuantizationCheck(int Samples, string Measure, long Compared, double Agreement, double MaxDifference, double MaxValue)
{
    /// <summary>An empty check (before one has run).</summary>
    public static QuantizationCheck None { get; } = new(0, "", 0, double.NaN, double.NaN, double.NaN);

    /// <summary>One line.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "checked with ONNX Runtime on {0} calibration samples: int8 agrees with float on {1:P1} of {2:N0} {3}, max |int8 - float| output {4:G3} (outputs up to {5:G3})",
        Samples, Agreement, Compared, Measure, MaxDifference, MaxValue);
}
