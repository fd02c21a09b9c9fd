using Microsoft.ML.OnnxRuntime;
using MobileOne.Export;

namespace MobileOne.Inference;

/// <summary>
/// A segmenter as <see cref="SegmenterExporter"/> writes it, run by ONNX Runtime on the CPU: one float input
/// [N, C, H, W] of any height and width, and the logits [N, K, H, W] at the input's size.
/// </summary>
public sealed class OnnxSegmenter : IInferenceEngine
{
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly string inputName;

    /// <summary>Loads a segmenter file. <paramref name="threads"/> = 0 lets ONNX Runtime choose.</summary>
    public OnnxSegmenter(string path, int threads = 1) : this(OnnxEngine.OpenSession(() => OnnxEngine.ReadFile(path), path, threads), path) { }

    /// <summary>Loads a segmenter from memory (an export that was never written to disk).</summary>
    public OnnxSegmenter(byte[] model, int threads = 1, string source = "ONNX segmenter") : this(OnnxEngine.OpenSession(() => model, source, threads), source) { }

    /// <summary>Wraps a session already open on a segmenter's graph; the segmenter owns it from here.</summary>
    internal OnnxSegmenter(InferenceSession session, string source)
    {
        this.session = session;
        Source = source;
        if (session.InputMetadata.Count != 1 || !session.OutputMetadata.TryGetValue(SegmenterExporter.OutputName, out var output))
            throw Invalid($"expected one input and the output {SegmenterExporter.OutputName}");
        var (name, input) = session.InputMetadata.First();
        if (!input.IsTensor || input.ElementType != typeof(float) || input.Dimensions is not { Length: 4 } d || d[1] <= 0)
            throw Invalid("expected a float tensor input [N, C, H, W]");
        if (!output.IsTensor || output.ElementType != typeof(float) || output.Dimensions is not { Length: 4 } o || o[1] <= 0)
            throw Invalid("expected a float tensor output [N, K, H, W] with K fixed");
        inputName = name;
        InputChannels = d[1];
        NumClasses = o[1];
        Metadata = OnnxEngine.ReadMetadata(session, Invalid);
        Normalization = OnnxMetadata.Normalization(Metadata, Segmentation.DeepLabV3.Normalization, source);
    }

    /// <summary>True when the session's outputs are a segmenter's: the logits [N, K, H, W].</summary>
    internal static bool IsSegmenter(InferenceSession session) =>
        session.OutputMetadata.TryGetValue(SegmenterExporter.OutputName, out var o) && o.Dimensions is { Length: 4 };

    private MobileOneException Invalid(string what)
    {
        session.Dispose();
        return new MobileOneException($"{Source}: not a segmenter this tool can run: {what}");
    }

    /// <summary>Where the model came from (for messages).</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public string Name => "onnx";

    /// <summary>Classes: channels of the logits.</summary>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public int InputChannels { get; }

    /// <summary>The metadata the exporter recorded.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The mean and deviation the metadata records (ImageNet's when it records none); the image keeps its size.</summary>
    public Data.ImagePreprocessor Normalization { get; }

    /// <inheritdoc/>
    public Func<float[]> Prepare(float[] input, int n, int h, int w)
    {
        var value = InputValue(input, n, h, w);
        return () => Execute(value, n, h, w);
    }

    /// <summary>Runs once, releasing the input's pinned view at once (an evaluation runs this per batch).</summary>
    public float[] Run(float[] input, int n, int h, int w)
    {
        using var value = InputValue(input, n, h, w);
        return Execute(value, n, h, w);
    }

    // A tensor view of the input (pinned, not copied), after checking its size.
    private OrtValue InputValue(float[] input, int n, int h, int w)
    {
        ResourceLimits.Current.CheckInput(w, h, Source);
        if (input.Length != (long)n * InputChannels * h * w)
            throw new ArgumentException($"input holds {input.Length} floats, not {n}x{InputChannels}x{h}x{w}");
        return OrtValue.CreateTensorValueFromMemory(input, [n, InputChannels, h, w]);
    }

    private float[] Execute(OrtValue value, int n, int h, int w)
    {
        try
        {
            using var results = session.Run(runOptions, [inputName], [value], [SegmenterExporter.OutputName]);
            var logits = results[0].GetTensorDataAsSpan<float>();
            if (logits.Length != (long)n * NumClasses * h * w)
                throw new MobileOneException($"{Source}: the model produced {logits.Length} logits for {n} images of {h}x{w} and {NumClasses} classes");
            return logits.ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            var what = $"running the model on a {n}x{InputChannels}x{h}x{w} input";
            throw OnnxEngine.RunFailure(e, Source, what);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
