using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Export.Onnx;
using MobileOne.Inference;

namespace MobileOne.Quantization;

/// <summary>
/// Runs the float model in ONNX Runtime over a calibration set with the tensors to quantise exposed as extra
/// graph outputs, and records what values each takes: min and max in a first pass, then, for the histogram
/// methods, a histogram of magnitudes over the range the first pass found.
/// </summary>
internal static class Calibrator
{
    /// <summary>Samples per ONNX Runtime call: enough to amortise a call, few enough that every exposed activation fits in memory.</summary>
    public const int BatchSize = 8;

    /// <summary>A collector per tensor of <paramref name="tensors"/>, filled by running <paramref name="model"/> over <paramref name="set"/>.</summary>
    public static IReadOnlyDictionary<string, RangeCollector> Collect(ModelProto model, IReadOnlyList<string> tensors, CalibrationSet set, CalibrationMethod method, string source)
    {
        var collectors = tensors.ToDictionary(t => t, _ => new RangeCollector());
        Observe ranges = (t, values, _) => collectors[t].AddRange(values, t);
        Observe histograms = (t, values, _) => collectors[t].AddHistogram(values);
        Run(model, tensors, set, source, method == CalibrationMethod.MinMax ? [ranges] : [ranges, histograms]);
        return collectors;
    }

    /// <summary>What a pass is shown: a tensor's values over a batch of <c>count</c> samples.</summary>
    public delegate void Observe(string tensor, ReadOnlySpan<float> values, int count);

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="set"/> once per entry of <paramref name="passes"/>, with
    /// <paramref name="tensors"/> (the input, or any value its nodes write) shown to that pass batch by batch.
    /// </summary>
    public static void Run(ModelProto model, IReadOnlyList<string> tensors, CalibrationSet set, string source, params Observe[] passes)
    {
        var exposed = Exposed(model, tensors);
        using var session = OnnxEngine.OpenSession(() => exposed.ToByteArray(), source, threads: 1);
        var (input, metadata) = session.InputMetadata.Single();
        // A graph ending in NMS (a detector's) fixes its batch at one image.
        int batch = metadata.Dimensions is [1, ..] ? 1 : BatchSize;
        var outputs = tensors.Where(t => t != input).Distinct().ToArray();
        bool observeInput = tensors.Contains(input);
        foreach (var observe in passes) Pass(session, input, observeInput, outputs, set, batch, observe, source);
    }

    // The model with every tensor to observe declared as a graph output (type float, shape left to inference).
    private static ModelProto Exposed(ModelProto model, IReadOnlyList<string> tensors)
    {
        var exposed = model.Clone();
        var declared = exposed.Graph.Output.Select(o => o.Name).Concat(exposed.Graph.Input.Select(i => i.Name)).ToHashSet();
        foreach (var t in tensors.Where(t => !declared.Contains(t)))
            exposed.Graph.Output.Add(new ValueInfoProto
            {
                Name = t,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        return exposed;
    }

    private static void Pass(InferenceSession session, string input, bool observeInput, string[] outputs, CalibrationSet set, int batch, Observe observe, string source)
    {
        using var runOptions = new RunOptions();
        foreach (var (data, n) in set.Batches(batch))
        {
            if (observeInput) observe(input, data, n);
            using var value = OrtValue.CreateTensorValueFromMemory(data, [n, set.Channels, set.Height, set.Width]);
            try
            {
                using var results = session.Run(runOptions, [input], [value], outputs);
                for (int i = 0; i < outputs.Length; i++) observe(outputs[i], results[i].GetTensorDataAsSpan<float>(), n);
            }
            catch (OnnxRuntimeException e)
            {
                var what = $"calibrating on a {n}x{set.Channels}x{set.Height}x{set.Width} batch";
                throw OnnxEngine.RunFailure(e, source, what);
            }
        }
    }
}
