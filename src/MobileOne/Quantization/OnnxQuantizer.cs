using System.Globalization;
using Google.Protobuf;
using MobileOne.Checkpoints;
using MobileOne.Export;
using MobileOne.Export.Onnx;
using MobileOne.Inference;
using MobileOne.IO;
using MobileOne.Models;
using MobileOne.Reparameterization;

namespace MobileOne.Quantization;

/// <summary>
/// Post-training int8 quantisation of an ONNX image classifier, segmenter or detector, in C#: calibrate the float
/// model in ONNX Runtime, rewrite its graph in QDQ form (see <see cref="QdqPlan"/> and <see cref="QdqRewriter"/>),
/// and check the result in ONNX Runtime against the float model before it is written (see <see cref="QuantizationSubject"/>).
/// </summary>
public static class OnnxQuantizer
{
    /// <summary>Metadata key prefix of what quantisation recorded.</summary>
    public const string MetadataPrefix = "quantization";

    /// <summary>Quantises the float ONNX model at <paramref name="path"/> (see <see cref="QuantizeFile"/>).</summary>
    public static QuantizationReport QuantizeOnnx(string path, string calibration, QuantizationOptions options, string output, Action<int, int>? progress = null) =>
        QuantizeFile(OnnxEngine.ReadFile(path), path, calibration, options, output, progress);

    /// <summary>Quantises a checkpoint's folded model (see <see cref="ExportCheckpoint"/> and <see cref="QuantizeFile"/>).</summary>
    public static QuantizationReport QuantizeCheckpoint(string checkpoint, MobileOneConfig? config, string calibration, QuantizationOptions options, string output,
        Action<string>? warn = null, Action<int, int>? progress = null) =>
        QuantizeFile(ExportCheckpoint(checkpoint, config, warn), checkpoint, calibration, options, output, progress);

    /// <summary>
    /// Quantises the float model <paramref name="floatModel"/> (from <paramref name="source"/>), calibrated on
    /// <paramref name="calibration"/> (see <see cref="CalibrationSet.Open"/>), and writes it to <paramref name="output"/>
    /// atomically: only once ONNX Runtime has loaded and run it beside the float model. <paramref name="progress"/> hears of
    /// each bias corrected (done, all), the long part of the work when asked for.
    /// </summary>
    public static QuantizationReport QuantizeFile(byte[] floatModel, string source, string calibration, QuantizationOptions options, string output, Action<int, int>? progress = null)
    {
        using var subject = QuantizationSubject.Open(floatModel, source);
        var set = subject.OpenCalibration(calibration, options.Validated().Samples);
        var (proto, report) = Quantize(floatModel, subject, set, options, source, progress);
        QuantizationCheck? check = null;
        IReadOnlyList<(string, int)> ops = [];
        AtomicFile.Write(output, s => proto.WriteTo(s), staged =>
        {
            var bytes = File.ReadAllBytes(staged);
            check = subject.Check(bytes, set, options.CheckSamples, output);
            ops = RuntimeGraph.OpTypes(bytes, output);
        });
        return report with { Output = output, Check = check!, RuntimeOps = ops };
    }

    /// <summary>The int8 model of <paramref name="floatModel"/> calibrated on <paramref name="set"/>, checked but not written.</summary>
    public static (byte[] Model, QuantizationReport Report) Quantize(byte[] floatModel, CalibrationSet set, QuantizationOptions options, string source)
    {
        using var subject = QuantizationSubject.Open(floatModel, source);
        var (proto, report) = Quantize(floatModel, subject, set, options.Validated(), source, null);
        var bytes = proto.ToByteArray();
        return (bytes, report with { Check = subject.Check(bytes, set, options.CheckSamples, source), RuntimeOps = RuntimeGraph.OpTypes(bytes, source) });
    }

    /// <summary>
    /// Opens <paramref name="spec"/> for the float model <paramref name="floatModel"/>: with the preprocessing its metadata
    /// records, at its input's size (for a graph that takes any size, the first image's shorter side, at most <see cref="CalibrationSet.MaxFreeSize"/>).
    /// </summary>
    public static CalibrationSet OpenCalibration(byte[] floatModel, string spec, int samples, string source = "ONNX model")
    {
        using var subject = QuantizationSubject.Open(floatModel, source);
        return subject.OpenCalibration(spec, samples);
    }

    /// <summary>
    /// The folded float ONNX model of a checkpoint, exported in memory at its training run's size with its run's
    /// preprocessing and class names recorded (as an export of it would be).
    /// </summary>
    public static byte[] ExportCheckpoint(string checkpoint, MobileOneConfig? config = null, Action<string>? warn = null)
    {
        var loaded = MobileOneCheckpoint.Load(checkpoint, config);
        var run = DeploySettings.ForCheckpoint(checkpoint, loaded.Model.Config.InChannels).CheckedFor(loaded.Model.Config.NumClasses, checkpoint);
        var options = run.Recorded(new OnnxExportOptions { InputHeight = run.Preprocessing.Size, InputWidth = run.Preprocessing.Size });
        if (loaded.Fused) return OnnxExporter.ToBytes(loaded.Model, options);
        using var fused = Reparameterizer.Fuse(loaded.Model, warn);
        return OnnxExporter.ToBytes(fused, options);
    }

    private static (ModelProto Model, QuantizationReport Report) Quantize(byte[] floatModel, QuantizationSubject subject, CalibrationSet set, QuantizationOptions options, string source,
        Action<int, int>? progress)
    {
        if (set.Channels != subject.Channels) throw new MobileOneException($"{set.Description}: {set.Channels}-channel samples for a model that takes {subject.Channels}");
        var model = Parse(floatModel, source);
        var plan = QdqPlan.Make(model.Graph, options.KeepFloat, source);
        if (plan.Nodes.Count == 0) throw new MobileOneException($"{source}: no Conv, Gemm or MatMul node with constant weights is left to quantise");
        var collectors = Calibrator.Collect(model, plan.Calibrated, set, options.Method, source);
        // The input is an image made of 8-bit pixels: its range is small and exactly known, so it is never clipped;
        // a histogram method would cut its brightest pixels (the long tail of a dark background) as outliers.
        var input = model.Graph.Input.Single().Name;
        var ranges = collectors.ToDictionary(c => c.Key, c =>
        {
            var (min, max) = c.Value.Range(c.Key == input ? CalibrationMethod.MinMax : options.Method);
            return QuantMath.Activation(min, max);
        });
        ModelProto Rewrite() => QdqRewriter.Rewrite(model, plan, ranges, options.PerChannel, Metadata(options, set), source);
        // The activations keep their ranges: only the biases move, and are quantised again.
        var (shifts, int8) = options.BiasCorrection ? BiasCorrection.Apply(model, plan, Rewrite, set, progress, source) : ([], Rewrite());
        var report = new QuantizationReport("", options.Method, options.PerChannel, set.Description, set.Count, plan.Nodes.Count, plan.Quantized.Count,
            plan.FoldedRelus.Count, plan.KeptFloat, floatModel.Length, int8.CalculateSize(), QuantizationCheck.None, [])
        {
            CorrectedBiases = shifts.Count,
            MaxBiasShift = shifts.Count == 0 ? 0 : shifts.Max(x => x.MaxAbs),
        };
        return (int8, report);
    }

    internal static ModelProto Parse(byte[] bytes, string source)
    {
        try { return ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new MobileOneException($"{source}: not a valid ONNX model ({e.Message})"); }
    }

    private static IEnumerable<(string, string)> Metadata(QuantizationOptions o, CalibrationSet set)
    {
        yield return (MetadataPrefix, "int8 QDQ: activations uint8 asymmetric, weights int8 symmetric, biases int32");
        yield return ($"{MetadataPrefix}_method", o.Method.Name());
        yield return ($"{MetadataPrefix}_calibration", set.Description);
        yield return ($"{MetadataPrefix}_samples", set.Count.ToString(CultureInfo.InvariantCulture));
        yield return ($"{MetadataPrefix}_per_channel", o.PerChannel ? "true" : "false");
        yield return ($"{MetadataPrefix}_keep_float", string.Join(",", o.KeepFloat));
        yield return ($"{MetadataPrefix}_bias_correction", o.BiasCorrection ? "empirical" : "none");
    }
}
