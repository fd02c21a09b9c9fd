using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Detection;
using MobileOne.Export;

namespace MobileOne.Inference;

/// <summary>
/// A detector as <see cref="DetectorExporter"/> writes it, run by ONNX Runtime on the CPU: one float input
/// [N, C, S, S] and either every anchor's <c>boxes</c> and <c>scores</c> or, with NMS in the graph (batch 1),
/// the detections <c>det_boxes</c>, <c>det_scores</c> and <c>det_labels</c>.
/// </summary>
public sealed class OnnxDetector : IInferenceEngine
{
    private static readonly string[] DenseOutputs = [DetectorExporter.BoxesName, DetectorExporter.ScoresName];
    private static readonly string[] DetectionOutputs = [DetectorExporter.DetectionBoxesName, DetectorExporter.DetectionScoresName, DetectorExporter.DetectionLabelsName];

    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly string inputName;
    private readonly string[] outputNames;

    /// <summary>Loads a detector file. <paramref name="threads"/> = 0 lets ONNX Runtime choose.</summary>
    public OnnxDetector(string path, int threads = 1)
        : this(OnnxEngine.OpenSession(() => OnnxEngine.ReadFile(path), path, threads), path) { }

    /// <summary>Loads a detector from memory (an export that was never written to disk).</summary>
    public OnnxDetector(byte[] model, int threads = 1, string source = "ONNX detector") : this(OnnxEngine.OpenSession(() => model, source, threads), source) { }

    /// <summary>True when the session's outputs are a detector's (either kind).</summary>
    internal static bool IsDetector(InferenceSession session) =>
        DenseOutputs.All(session.OutputMetadata.ContainsKey) || DetectionOutputs.All(session.OutputMetadata.ContainsKey);

    /// <summary>Wraps a session already open on a detector's graph; the detector owns it from here.</summary>
    internal OnnxDetector(InferenceSession session, string source)
    {
        this.session = session;
        Source = source;
        HasNms = DetectionOutputs.All(session.OutputMetadata.ContainsKey);
        outputNames = HasNms ? DetectionOutputs : DenseOutputs;
        if (session.InputMetadata.Count != 1 || !IsDetector(session))
            throw Invalid($"expected one input and the outputs {string.Join(", ", DenseOutputs)} or {string.Join(", ", DetectionOutputs)}");
        var (name, input) = session.InputMetadata.First();
        if (!input.IsTensor || input.ElementType != typeof(float) || input.Dimensions is not { Length: 4 } d || d[1] <= 0 || d[2] <= 0 || d[2] != d[3])
            throw Invalid("expected a float tensor input [N, C, S, S] of a fixed square size");
        try { ResourceLimits.Current.CheckInput(d[3], d[2], source); }
        catch { session.Dispose(); throw; }
        inputName = name;
        InputChannels = d[1];
        ImageSize = d[2];
        Metadata = OnnxEngine.ReadMetadata(session, Invalid);
        (Anchors, NumClasses) = HasNms ? (0, ClassesFromMetadata()) : DenseShape();
        Normalization = OnnxMetadata.Normalization(Metadata, SsdLite.Normalization, source) with { Size = ImageSize, Stretch = true };
        Postprocessor = HasNms ? new SsdPostprocessor() : RecordedPostprocessor();
    }

    // The exporter records SSD's post-processing; a graph without NMS leaves it to the caller, who runs what was recorded.
    private SsdPostprocessor RecordedPostprocessor()
    {
        var d = new SsdPostprocessor();
        double Number(string key, double fallback, double min, double max) => OnnxMetadata.Number(Metadata, key, fallback, min, max, Source);
        return new SsdPostprocessor(Number("score_threshold", d.ScoreThreshold, 0, 1), (int)Number("top_k_per_class", d.TopKPerClass, 1, 100_000),
            Number("nms_threshold", d.NmsThreshold, 0, 1), (int)Number("max_detections", d.MaxDetections, 1, 100_000));
    }

    private (int Anchors, int Classes) DenseShape()
    {
        var boxes = session.OutputMetadata[DetectorExporter.BoxesName].Dimensions;
        var scores = session.OutputMetadata[DetectorExporter.ScoresName].Dimensions;
        if (boxes is not { Length: 3 } || scores is not { Length: 3 } || boxes[1] <= 0 || boxes[2] != 4 || scores[1] != boxes[1] || scores[2] < 2)
            throw Invalid("expected boxes [N, A, 4] and scores [N, A, K] with A and K fixed");
        return (boxes[1], scores[2]);
    }

    // The NMS graph's outputs do not show the classes: the exporter records them (0: not recorded, labels unchecked).
    private int ClassesFromMetadata()
    {
        double k = OnnxMetadata.Number(Metadata, "num_classes", 0, 2, 10_000, Source);
        return k == Math.Floor(k) ? (int)k : throw Invalid($"metadata 'num_classes' = '{Metadata["num_classes"]}' is not a whole number");
    }

    private MobileOneException Invalid(string what)
    {
        session.Dispose();
        return new MobileOneException($"{Source}: not a detector this tool can run: {what}");
    }

    /// <summary>Where the model came from (for messages).</summary>
    public string Source { get; }

    /// <summary>The input's preprocessing: the metadata's mean and deviation (SSDLite's [-1, 1] scaling when absent), the image stretched to the input square.</summary>
    public Data.ImagePreprocessor Normalization { get; }

    /// <summary>The post-processing a graph without NMS is followed by (the one its metadata records); SSD's defaults for a graph with NMS, which has its own.</summary>
    public SsdPostprocessor Postprocessor { get; }

    /// <summary>
    /// The detections of one image (C x S x S floats) from either kind of graph, best score first, their boxes scaled by
    /// (<paramref name="scaleX"/>, <paramref name="scaleY"/>): back to the image's own pixels when those are its width and height over S.
    /// </summary>
    public IReadOnlyList<DetectedBox> DetectImage(float[] input, double scaleX = 1, double scaleY = 1)
    {
        if (!HasNms)
        {
            var (boxes, scores) = RunDense(input, 1);
            return Postprocessor.Select(boxes, scores, NumClasses, scaleX, scaleY);
        }
        return Detect(input).Select(b => b with
        {
            X1 = (float)(b.X1 * scaleX), Y1 = (float)(b.Y1 * scaleY), X2 = (float)(b.X2 * scaleX), Y2 = (float)(b.Y2 * scaleY),
        }).ToList();
    }

    /// <summary>True when the graph ends with non-maximum suppression (batch 1, detections out).</summary>
    public bool HasNms { get; }

    /// <summary>Side of the square input.</summary>
    public int ImageSize { get; }

    /// <summary>Anchors of the graph without NMS; 0 with NMS.</summary>
    public int Anchors { get; }

    /// <inheritdoc/>
    public string Name => "onnx";

    /// <summary>Classes, the background included: from the scores' shape, or the metadata with NMS (0 when it has none).</summary>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public int InputChannels { get; }

    /// <summary>The model's metadata properties (the exporter records the size, normalisation, classes and post-processing).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every anchor's boxes [n x A x 4] and class probabilities [n x A x K] (a graph without NMS).</summary>
    public (float[] Boxes, float[] Scores) RunDense(float[] input, int n)
    {
        if (HasNms) throw new MobileOneException($"{Source}: the graph ends with non-maximum suppression; it gives detections, not every anchor's boxes");
        using var results = Invoke(input, n);
        var boxes = results[0].GetTensorDataAsSpan<float>().ToArray();
        var scores = results[1].GetTensorDataAsSpan<float>().ToArray();
        if (boxes.Length != (long)n * Anchors * 4 || scores.Length != (long)n * Anchors * NumClasses)
            throw new MobileOneException($"{Source}: the model declares {Anchors} anchors and {NumClasses} classes but produced {boxes.Length} box values and {scores.Length} scores for {n} images");
        return (boxes, scores);
    }

    /// <summary>The detections of one image (a graph with NMS), best score first, in input pixels.</summary>
    public IReadOnlyList<DetectedBox> Detect(float[] input)
    {
        if (!HasNms) throw new MobileOneException($"{Source}: the graph has no non-maximum suppression; it gives every anchor's boxes and scores");
        using var results = Invoke(input, 1);
        var boxes = results[0].GetTensorDataAsSpan<float>();
        var scores = results[1].GetTensorDataAsSpan<float>();
        var labels = results[2].GetTensorDataAsSpan<long>();
        if (boxes.Length != 4L * scores.Length || labels.Length != scores.Length)
            throw new MobileOneException($"{Source}: {boxes.Length} box values, {scores.Length} scores and {labels.Length} labels are not one detection's each");
        var found = new DetectedBox[scores.Length];
        for (int i = 0; i < found.Length; i++)
        {
            if (labels[i] < 1 || (NumClasses > 0 && labels[i] >= NumClasses))
                throw new MobileOneException($"{Source}: detection {i} has label {labels[i]}, outside 1..{(NumClasses > 0 ? NumClasses - 1 : int.MaxValue)}");
            found[i] = new DetectedBox(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], (int)labels[i], scores[i]);
        }
        return found;
    }

    private MobileOneException OneImage(int n) => new($"{Source}: the graph with non-maximum suppression takes one image, not {n}");

    private IDisposableReadOnlyCollection<OrtValue> Invoke(float[] input, int n)
    {
        int c = InputChannels, s = ImageSize;
        if (HasNms && n != 1) throw OneImage(n);
        if (input.Length != (long)n * c * s * s) throw new ArgumentException($"input holds {input.Length} floats, not {n}x{c}x{s}x{s}");
        using var value = OrtValue.CreateTensorValueFromMemory(input, [n, c, s, s]);
        try
        {
            return session.Run(runOptions, [inputName], [value], outputNames);
        }
        catch (OnnxRuntimeException e)
        {
            var what = $"running the model on a {n}x{c}x{s}x{s} input";
            throw OnnxEngine.RunFailure(e, Source, what);
        }
    }

    /// <summary>
    /// A benchmark's round trip on the pre-allocated <paramref name="input"/>: every output copied to host memory;
    /// returns the boxes (every anchor's, or the detections').
    /// </summary>
    public Func<float[]> Prepare(float[] input, int n, int h, int w)
    {
        if (h != ImageSize || w != ImageSize)
            throw new MobileOneException($"{Source}: the detector takes {ImageSize}x{ImageSize} inputs, not {h}x{w}");
        if (HasNms && n != 1) throw OneImage(n);
        return HasNms ? () => Boxes(Detect(input)) : () => RunDense(input, n).Boxes;
    }

    private static float[] Boxes(IReadOnlyList<DetectedBox> found) => found.SelectMany(b => new[] { b.X1, b.Y1, b.X2, b.Y2 }).ToArray();

    /// <inheritdoc/>
    public float[] Run(float[] input, int n, int h, int w) => Prepare(input, n, h, w)();

    /// <inheritdoc/>
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
