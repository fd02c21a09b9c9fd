using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Export.Onnx;
using MobileOne.Inference;
using MobileOne.Quantization;

namespace MobileOne.Benchmarks;

/// <summary>Time spent in one kind of node, or in one node, per run.</summary>
/// <param name="Name">The kind (an operator, or a kind of convolution: stem, depthwise, pointwise, dense) or the node.</param>
/// <param name="Nodes">Nodes of that kind ONNX Runtime ran (1 for a node).</param>
/// <param name="Milliseconds">Kernel time per run.</param>
/// <param name="Share">Fraction of all kernel time.</param>
public sealed record ProfileRow(string Name, int Nodes, double Milliseconds, double Share);

/// <summary>
/// Where an ONNX model's time goes in ONNX Runtime: its kernels timed by the runtime's own profiler over a number of
/// runs, summed per kind of node (convolutions told apart by their shape: the stem reading the input, depthwise,
/// pointwise 1x1, other dense ones; every other node by its operator, e.g. <c>QuantizeLinear</c>) and per node.
/// </summary>
public sealed record OnnxProfile(string Model, int Runs, double KernelMilliseconds, IReadOnlyList<ProfileRow> ByKind, IReadOnlyList<ProfileRow> SlowestNodes)
{
    /// <summary>Nodes listed among the slowest.</summary>
    public const int Slowest = 5;

    /// <summary>The largest profile read back: about 20,000 runs of S0.</summary>
    public const long MaxProfileBytes = 1L << 30;

    /// <summary>
    /// Profiles the model at <paramref name="path"/> on <paramref name="settings"/>' threads over its timed runs (the
    /// warm-up runs left out), on a seeded random input of its own shape: the graph's fixed sizes, else the settings'
    /// batch, height and width.
    /// </summary>
    public static OnnxProfile Measure(string path, BenchSettings settings)
    {
        var bytes = OnnxEngine.ReadFile(path);
        var kinds = ConvolutionKinds(bytes, path);
        var folder = Directory.CreateTempSubdirectory("mobileone-profile-");
        try
        {
            string file;
            using (var session = OnnxEngine.OpenSession(() => bytes, path, settings.Threads, Path.Combine(folder.FullName, "profile")))
            {
                RunTimes(session, settings, path);
                file = session.EndProfiling();
            }
            if (new FileInfo(file).Length > MaxProfileBytes)
                throw new ResourceLimitException($"{path}: ONNX Runtime's profile of {settings.Runs} runs is larger than {MaxProfileBytes >> 20} MiB; profile fewer runs");
            return Summarise(Path.GetFileName(path), settings.Warmup, File.ReadAllText(file), kinds, path);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static void RunTimes(InferenceSession session, BenchSettings settings, string source)
    {
        if (session.InputMetadata.Count != 1)
            throw new MobileOneException($"{source}: profiling feeds one image batch; the graph has {session.InputMetadata.Count} inputs");
        var (name, input) = session.InputMetadata.First();
        if (input.Dimensions is not { Length: 4 } d || input.ElementType != typeof(float))
            throw new MobileOneException($"{source}: profiling feeds a float image batch [N, C, H, W]; the graph's input is not one");
        var sized = settings with { Batch = d[0] > 0 ? d[0] : settings.Batch, Height = d[2] > 0 ? d[2] : settings.Height, Width = d[3] > 0 ? d[3] : settings.Width };
        ResourceLimits.Current.CheckInput(sized.Width, sized.Height, source);
        var data = sized.RandomInput(d[1]);
        using var value = OrtValue.CreateTensorValueFromMemory(data, [sized.Batch, d[1], sized.Height, sized.Width]);
        using var options = new RunOptions();
        var outputs = session.OutputMetadata.Keys.ToArray();
        for (int i = 0; i < settings.Warmup + settings.Runs; i++)
        {
            try { session.Run(options, [name], [value], outputs).Dispose(); }
            catch (OnnxRuntimeException e) { throw OnnxEngine.RunFailure(e, source, $"running the model on a {sized.Batch}x{d[1]}x{sized.Height}x{sized.Width} input"); }
        }
    }

    // A convolution's kind by its weight's shape and group, keyed by its node's name and the values it writes (ONNX Runtime names the nodes it fuses after either).
    private static Dictionary<string, string> ConvolutionKinds(byte[] bytes, string source)
    {
        var graph = Quantization.OnnxQuantizer.Parse(bytes, source).Graph;
        var view = new GraphView(graph);
        var inputs = new HashSet<string>(view.Inputs);
        // The input as a QDQ graph quantises it: nodes come in topological order, so one pass follows Q then DQ.
        foreach (var n in graph.Node.Where(n => n.OpType is "QuantizeLinear" or "DequantizeLinear" && n.Input.Count > 0))
            if (inputs.Contains(n.Input[0])) inputs.Add(n.Output[0]);
        var kinds = new Dictionary<string, string>();
        foreach (var n in graph.Node.Where(n => n.OpType == "Conv" && n.Input.Count > 1 && n.Name.Length > 0))
        {
            // A QDQ graph's weight reaches the Conv through DequantizeLinear: follow it to the initializer.
            var weight = view.Producer(n.Input[1]) is { OpType: "DequantizeLinear" } dq ? dq.Input[0] : n.Input[1];
            if (view.Initializer(weight)?.Dims is not { Count: 4 } w) continue;
            string k = $"{w[2]}x{w[3]}";
            var kind = inputs.Contains(n.Input[0]) ? $"stem {k} convolution"
                : GraphView.IntAttribute(n, "group", 1) > 1 && w[1] == 1 ? $"depthwise {k} convolutions"
                : k == "1x1" ? "pointwise 1x1 convolutions" : $"dense {k} convolutions";
            // A float graph's fused Conv+Relu is named after the value it writes (stage0.relu_out_nchwc).
            foreach (var name in view.Consumers(n.Output[0]).Where(r => r.OpType == "Relu").Select(r => r.Output[0]).Prepend(n.Output[0]).Prepend(n.Name))
                kinds[name] = kind;
        }
        return kinds;
    }

    // Node timings after the warm-up runs: each run is a "model_run" event, and a node's event starts within its run.
    private static OnnxProfile Summarise(string model, int warmup, string json, IReadOnlyDictionary<string, string> kinds, string source)
    {
        using var doc = JsonDocument.Parse(json);
        var events = doc.RootElement.EnumerateArray().ToList();
        var runs = events.Where(e => Is(e, "Session") && e.GetProperty("name").GetString() == "model_run").Select(e => e.GetProperty("ts").GetDouble()).Order().ToList();
        if (runs.Count <= warmup) throw new MobileOneException($"{source}: ONNX Runtime's profile holds {runs.Count} runs, not more than the {warmup} of warm-up");
        double start = runs[warmup];
        var nodes = new Dictionary<string, (string Kind, double Microseconds)>();
        foreach (var e in events.Where(e => Is(e, "Node") && e.GetProperty("ts").GetDouble() >= start))
        {
            if (e.GetProperty("name").GetString() is not { } name || !name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var node = name[..^"_kernel_time".Length];
            var op = e.GetProperty("args").GetProperty("op_name").GetString() ?? "?";
            var kind = op.Contains("Conv", StringComparison.Ordinal) ? KindOf(node, kinds) ?? op : op;
            nodes[node] = (kind, nodes.GetValueOrDefault(node).Microseconds + e.GetProperty("dur").GetDouble());
        }
        if (nodes.Count == 0) throw new MobileOneException($"{source}: ONNX Runtime's profile holds no node timings");
        int timed = runs.Count - warmup;
        double total = nodes.Values.Sum(v => v.Microseconds);
        ProfileRow Row(string name, int count, double us) => new(name, count, us / timed / 1000, us / total);
        var byKind = nodes.Values.GroupBy(v => v.Kind).Select(g => Row(g.Key, g.Count(), g.Sum(v => v.Microseconds))).OrderByDescending(r => r.Milliseconds).ToList();
        var slowest = nodes.OrderByDescending(p => p.Value.Microseconds).Take(Slowest).Select(p => Row(p.Key, 1, p.Value.Microseconds)).ToList();
        return new OnnxProfile(model, timed, total / timed / 1000, byKind, slowest);
    }

    private static bool Is(JsonElement e, string category) => e.TryGetProperty("cat", out var c) && c.GetString() == category;

    // The fused node "stage1.0.reparam_conv_token_4" comes from the Conv "stage1.0.reparam_conv": the longest name it starts with.
    private static string? KindOf(string node, IReadOnlyDictionary<string, string> kinds) =>
        kinds.Keys.Where(k => node.StartsWith(k, StringComparison.Ordinal)).MaxBy(k => k.Length) is { } conv ? kinds[conv] : null;

    /// <summary>The profile as lines of text.</summary>
    public IEnumerable<string> TextLines()
    {
        var inv = CultureInfo.InvariantCulture;
        yield return string.Format(inv, "profile of {0}: {1:F3} ms a run in kernels, {2} runs", Model, KernelMilliseconds, Runs);
        foreach (var r in ByKind) yield return string.Format(inv, "  {0,-34} {1,4} nodes {2,8:F3} ms {3,6:P1}", r.Name, r.Nodes, r.Milliseconds, r.Share);
        yield return "  slowest nodes:";
        foreach (var r in SlowestNodes) yield return string.Format(inv, "  {0,-45} {1,8:F3} ms {2,6:P1}", r.Name, r.Milliseconds, r.Share);
    }
}
