using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace MobileOne.Inference;

/// <summary>
/// ONNX Runtime on the CPU: the fast inference path. Loads any ONNX image classifier with one float
/// input [N, 3, H, W] and one output [N, classes]; reads the preprocessing recorded by the exporter.
/// </summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly string inputName, outputName;

    /// <summary>Loads a model file. <paramref name="threads"/> = 0 lets ONNX Runtime choose.</summary>
    public OnnxEngine(string path, int threads = 1)
        : this(() => ReadFile(path), path, threads) { }

    /// <summary>Loads a model from memory (an export that was never written to disk).</summary>
    public OnnxEngine(byte[] model, int threads = 1, string source = "ONNX model") : this(() => model, source, threads) { }

    private OnnxEngine(Func<byte[]> load, string source, int threads) : this(OpenSession(load, source, threads), source) { }

    /// <summary>Wraps a session already open on a classifier's graph; the engine owns it from here.</summary>
    internal OnnxEngine(InferenceSession session, string source)
    {
        Source = source;
        this.session = session;
        if (session.InputMetadata.Count != 1 || session.OutputMetadata.Count < 1)
            throw Invalid($"expected one input and at least one output, found {session.InputMetadata.Count} inputs and {session.OutputMetadata.Count} outputs");
        var (inName, input) = session.InputMetadata.First();
        var (outName, output) = session.OutputMetadata.First();
        // Sequence and map values have no dimensions at all.
        if (!input.IsTensor || input.ElementType != typeof(float) || input.Dimensions is not { Length: 4 } || input.Dimensions[1] <= 0)
            throw Invalid($"expected a float tensor input [N, C, H, W], found {Describe(input)}");
        if (!output.IsTensor || output.ElementType != typeof(float) || output.Dimensions is not { Length: 2 } || output.Dimensions[1] <= 0)
            throw Invalid($"expected a float tensor output [N, classes], found {Describe(output)}");
        if (input.Dimensions[2] > 0 && input.Dimensions[3] > 0)
        {
            try { ResourceLimits.Current.CheckInput(input.Dimensions[3], input.Dimensions[2], source); }
            catch { session.Dispose(); throw; }
        }
        inputName = inName;
        outputName = outName;
        NumClasses = output.Dimensions[1];
        InputChannels = input.Dimensions[1];
        FixedHeight = input.Dimensions[2] > 0 ? input.Dimensions[2] : null;
        FixedWidth = input.Dimensions[3] > 0 ? input.Dimensions[3] : null;
        Metadata = ReadMetadata();
    }

    private IReadOnlyDictionary<string, string> ReadMetadata() => ReadMetadata(session, Invalid);

    /// <summary>The session's metadata properties; <paramref name="invalid"/> makes the error for unreadable ones.</summary>
    internal static IReadOnlyDictionary<string, string> ReadMetadata(InferenceSession session, Func<string, Exception> invalid)
    {
        try { return session.ModelMetadata.CustomMetadataMap ?? new Dictionary<string, string>(); }
        // ONNX Runtime's managed wrapper dereferences null on a string that reads back empty, such as a key of one NUL.
        catch (NullReferenceException) { throw invalid("its metadata holds an empty or NUL-only key or value"); }
    }

    /// <summary>
    /// Opens an ONNX Runtime session on the model <paramref name="load"/> gives, on <paramref name="threads"/> intra-op
    /// threads (0: ONNX Runtime chooses), in the process's capped arena; a clear error naming <paramref name="source"/> otherwise.
    /// With <paramref name="profilePrefix"/>, ONNX Runtime's profiler records every node's time into a file named from it.
    /// </summary>
    internal static InferenceSession OpenSession(Func<byte[]> load, string source, int threads, string? profilePrefix = null)
    {
        if (threads < 0) throw new MobileOneException($"threads must be 0 (automatic) or positive, found {threads}");
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            // Failures reach the user as this engine's one-line errors, not as ONNX Runtime's own log lines.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        try
        {
            if (BoundedArena.Value) options.AddSessionConfigEntry("session.use_env_allocators", "1");
            if (profilePrefix is not null)
            {
                // The prefix first: turning profiling on hands ONNX Runtime the prefix set at that moment.
                options.ProfileOutputPathPrefix = profilePrefix;
                options.EnableProfiling = true;
            }
            return new InferenceSession(load(), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw IsOutOfArena(e) ? OutOfArena(source, "loading the model") : new MobileOneException($"{source}: not a valid ONNX model ({FirstLine(e.Message)})");
        }
        finally
        {
            options.Dispose();
        }
    }

    /// <summary>The bytes of the ONNX file at <paramref name="path"/>; a clear error when there is none.</summary>
    internal static byte[] ReadFile(string path) => File.Exists(path) ? File.ReadAllBytes(path) : throw new MobileOneException($"ONNX file not found: {path}");

    /// <summary>
    /// Loads an ONNX file as what it is: a detector (<see cref="OnnxDetector"/>), a segmenter (<see cref="OnnxSegmenter"/>)
    /// or an image classifier (<see cref="OnnxEngine"/>).
    /// </summary>
    public static IInferenceEngine LoadAny(string path, int threads = 1)
    {
        var session = OpenSession(() => ReadFile(path), path, threads);
        if (OnnxDetector.IsDetector(session)) return new OnnxDetector(session, path);
        return OnnxSegmenter.IsSegmenter(session) ? new OnnxSegmenter(session, path) : new OnnxEngine(session, path);
    }

    private static string Describe(NodeMetadata m) =>
        m.IsTensor && m.Dimensions is not null ? $"{m.ElementType.Name} [{string.Join(", ", m.Dimensions)}]" : m.OnnxValueType.ToString();

    /// <summary>
    /// One CPU arena for every session of the process, capped at <see cref="ResourceLimits.MaxRuntimeBytes"/>:
    /// a model whose shapes ask for more fails with an allocation error instead of exhausting the machine.
    /// </summary>
    private static readonly Lazy<bool> BoundedArena = new(() =>
    {
        long cap = ResourceLimits.Current.MaxRuntimeBytes;
        if (cap <= 0) return false;
        using var memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
        // Extend by what is asked (strategy 1), not by doubling, so the cap is spent on tensors.
        using var arena = new OrtArenaCfg((uint)Math.Min(cap, ResourceLimits.MaxRuntimeCap), 1, -1, -1);
        OrtEnv.Instance().CreateAndRegisterAllocator(memory, arena);
        return true;
    });

    /// <summary>ONNX Runtime failing while <paramref name="what"/> as the project's error: a refusal naming the memory cap, or the runtime's first line.</summary>
    internal static MobileOneException RunFailure(OnnxRuntimeException e, string source, string what) =>
        IsOutOfArena(e) ? OutOfArena(source, what) : new MobileOneException($"{source}: ONNX Runtime failed {what} ({FirstLine(e.Message)})");

    internal static bool IsOutOfArena(OnnxRuntimeException e) =>
        e.Message.Contains("BFCArena", StringComparison.Ordinal) || e.Message.Contains("Failed to allocate memory", StringComparison.Ordinal);

    /// <summary>Running out of the capped arena, as a refusal that names the limit.</summary>
    internal static ResourceLimitException OutOfArena(string source, string what) =>
        new($"{source}: {what} needs more than the {ResourceLimits.Current.MaxRuntimeBytes >> 20} MiB ONNX Runtime may use; " +
            $"set {ResourceLimits.RuntimeVariable} (in MiB, at most {ResourceLimits.MaxRuntimeCap >> 20}; 0 for no cap) to raise it");

    private MobileOneException Invalid(string what)
    {
        session.Dispose();
        return new MobileOneException($"{Source}: not an image classifier this tool can run: {what}");
    }

    internal static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>Where the model came from (for messages).</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public string Name => "onnx";

    /// <inheritdoc/>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public int InputChannels { get; }

    /// <summary>Input height fixed by the graph, or null when symbolic.</summary>
    public int? FixedHeight { get; }

    /// <summary>Input width fixed by the graph, or null when symbolic.</summary>
    public int? FixedWidth { get; }

    /// <summary>The model's metadata properties (the exporter records variant, input size, mean, std, crop_pct).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The preprocessing the metadata describes, with ImageNet defaults for what it lacks.</summary>
    public Data.ImagePreprocessor Preprocessing()
    {
        var p = OnnxMetadata.Normalization(Metadata, new Data.ImagePreprocessor(), Source);
        p = p with { CropPct = OnnxMetadata.Number(Metadata, "crop_pct", p.CropPct, double.Epsilon, 1, Source) };
        if (FixedHeight is int h) p = p with { Size = h };
        // A grey model takes luma (other counts are refused by the classifier, naming them).
        if (InputChannels == 1) p = p with { Channels = 1 };
        try { return p.Validated(); }
        catch (MobileOneException e) { throw new MobileOneException($"{Source}: the preprocessing in the model's metadata is invalid: {e.Message}"); }
    }

    /// <summary>The class names the exporter records (a JSON array, one per output), or null when the metadata has none.</summary>
    public IReadOnlyList<string>? ClassNames()
    {
        if (!Metadata.TryGetValue(Export.OnnxExporter.ClassNamesKey, out var text)) return null;
        string[]? names = null;
        try { names = System.Text.Json.JsonSerializer.Deserialize<string[]>(text); }
        catch (System.Text.Json.JsonException) { }
        if (names is null || names.Length != NumClasses || names.Any(n => n is null))
            throw new MobileOneException($"{Source}: metadata '{Export.OnnxExporter.ClassNamesKey}' = '{IO.MessageText.Shorten(text, 60)}' is not a JSON array of {NumClasses} class names");
        return names;
    }

    /// <inheritdoc/>
    public Func<float[]> Prepare(float[] input, int n, int h, int w)
    {
        var value = InputValue(input, n, h, w);
        return () => Execute(value, n, h, w);
    }

    /// <summary>Runs once, releasing the input's pinned view at once (a server runs this per request).</summary>
    public float[] Run(float[] input, int n, int h, int w)
    {
        using var value = InputValue(input, n, h, w);
        return Execute(value, n, h, w);
    }

    /// <summary>A tensor view of <paramref name="input"/> (pinned, not copied), after checking its size against the graph's.</summary>
    private OrtValue InputValue(float[] input, int n, int h, int w)
    {
        if ((FixedHeight is int fh && fh != h) || (FixedWidth is int fw && fw != w))
            throw new MobileOneException($"{Source}: the graph takes {FixedHeight}x{FixedWidth} inputs, not {h}x{w} (export it with dynamic height and width for any size)");
        int c = InputChannels;
        if (input.Length != (long)n * c * h * w)
            throw new ArgumentException($"input holds {input.Length} floats, not {n}x{c}x{h}x{w}");
        return OrtValue.CreateTensorValueFromMemory(input, [n, c, h, w]);
    }

    private float[] Execute(OrtValue value, int n, int h, int w)
    {
        try
        {
            using var results = session.Run(runOptions, [inputName], [value], [outputName]);
            var logits = results[0].GetTensorDataAsSpan<float>();
            // The declared output shape is a promise the graph need not keep.
            if (logits.Length != (long)n * NumClasses)
                throw new MobileOneException($"{Source}: the model declares {NumClasses} outputs per image but produced {logits.Length} values for {n} images");
            return logits.ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            // The graph is only partly checked at load: shape or kernel errors surface on the first run.
            var what = $"running the model on a {n}x{InputChannels}x{h}x{w} input";
            throw RunFailure(e, Source, what);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
