using MobileOne.Export.Onnx;

namespace MobileOne.Quantization;

/// <summary>
/// Writes the QDQ form of a float model from a <see cref="QdqPlan"/> and the calibrated ranges: each quantised
/// activation followed by QuantizeLinear (uint8) and DequantizeLinear, each quantised node's weight stored as
/// int8 behind a DequantizeLinear (per output channel on axis 0, or per tensor) and its bias as int32 with
/// scale s_x * s_w. The opset is raised to 13 (per-channel DequantizeLinear) when lower.
/// </summary>
internal sealed class QdqRewriter
{
    /// <summary>The first opset whose DequantizeLinear takes an axis.</summary>
    public const int MinOpset = 13;

    // Operators whose meaning or signature changed between opsets 11 and 13: a graph holding them cannot just be relabelled.
    private static readonly HashSet<string> ChangedBy13 = ["Squeeze", "Unsqueeze", "ReduceSum", "Split", "Softmax", "LogSoftmax", "Hardmax", "Resize"];

    private readonly QdqPlan plan;
    private readonly IReadOnlyDictionary<string, QuantParams> ranges;
    private readonly bool perChannel;
    private readonly string source;
    private readonly HashSet<string> names;
    private readonly GraphView view;
    private readonly List<NodeProto> output = [];
    private readonly Dictionary<string, string> dequantized = [];

    private QdqRewriter(QdqPlan plan, IReadOnlyDictionary<string, QuantParams> ranges, bool perChannel, string source)
    {
        this.plan = plan;
        this.ranges = ranges;
        this.perChannel = perChannel;
        this.source = source;
        view = new GraphView(plan.Folded);
        names = [.. plan.Folded.Node.SelectMany(n => n.Input.Concat(n.Output).Append(n.Name)), .. plan.Folded.Initializer.Select(t => t.Name),
                 .. plan.Folded.Input.Select(v => v.Name), .. plan.Folded.Output.Select(v => v.Name)];
    }

    /// <summary>
    /// The QDQ model: <paramref name="model"/>'s header and metadata (plus <paramref name="metadata"/>) around the
    /// rewritten graph. <paramref name="ranges"/> holds the uint8 parameters of every tensor in <see cref="QdqPlan.Calibrated"/>.
    /// </summary>
    public static ModelProto Rewrite(ModelProto model, QdqPlan plan, IReadOnlyDictionary<string, QuantParams> ranges, bool perChannel,
        IEnumerable<(string Key, string Value)> metadata, string source)
    {
        var result = model.Clone();
        RaiseOpset(result, source);
        var rewriter = new QdqRewriter(plan, ranges, perChannel, source);
        result.Graph = rewriter.Graph();
        foreach (var (k, v) in metadata)
        {
            foreach (var old in result.MetadataProps.Where(p => p.Key == k).ToList()) result.MetadataProps.Remove(old);
            result.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        }
        return result;
    }

    private static void RaiseOpset(ModelProto model, string source)
    {
        var onnx = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
                   ?? throw new MobileOneException($"{source}: the model imports no version of the standard ONNX operators");
        if (onnx.Version >= MinOpset) return;
        if (model.Graph.Node.FirstOrDefault(n => ChangedBy13.Contains(n.OpType)) is { } changed)
            throw new MobileOneException($"{source}: opset {onnx.Version} is older than the {MinOpset} that per-channel quantisation needs, and its {changed.OpType} " +
                                        $"node ('{changed.Name}') changed meaning by then; export the model at opset {MinOpset} or later");
        onnx.Version = MinOpset;
        model.IrVersion = Math.Max(model.IrVersion, 7);
    }

    private GraphProto Graph()
    {
        var g = plan.Folded.Clone();
        g.Node.Clear();
        var quantized = plan.Quantized.ToHashSet();
        var weighted = plan.Nodes.Select(n => n.Name).ToHashSet();
        foreach (var input in view.Inputs.Where(quantized.Contains)) QuantizeActivation(g, input);
        foreach (var original in plan.Folded.Node)
        {
            var node = original.Clone();
            for (int i = 0; i < node.Input.Count; i++)
                if (dequantized.TryGetValue(node.Input[i], out var dq)) node.Input[i] = dq;
            if (weighted.Contains(node.Name)) QuantizeWeights(g, node, original.Input[0]);
            output.Add(node);
            foreach (var o in node.Output.Where(quantized.Contains)) QuantizeActivation(g, o);
        }
        g.Node.AddRange(output);
        DropUnused(g);
        return g;
    }

    private string Unique(string name)
    {
        var candidate = name;
        for (int i = 1; !names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    // t -> QuantizeLinear -> DequantizeLinear; every later reader of t reads the dequantised value.
    private void QuantizeActivation(GraphProto g, string t)
    {
        var p = ranges[plan.ParamsOf[t]];
        var scale = Add(g, OnnxTensors.Floats(Unique(t + "_scale"), [p.Scale]));
        var zero = Add(g, OnnxTensors.UInt8(Unique(t + "_zero_point"), [(byte)p.ZeroPoint]));
        var q = Unique(t + "_quantized");
        var dq = Unique(t + "_dequantized");
        output.Add(Node("QuantizeLinear", q, [t, scale, zero], null));
        output.Add(Node("DequantizeLinear", dq, [q, scale, zero], null));
        dequantized[t] = dq;
    }

    // The weight as int8 (per output channel when it lies on axis 0), the bias as int32 with scale s_x * s_w.
    private void QuantizeWeights(GraphProto g, NodeProto node, string input)
    {
        var w = view.Initializer(node.Input[1])!;
        var values = OnnxTensors.ReadFloats(w, source);
        // Conv weights are [M, C/g, k...] and Gemm's with transB [N, K]: output channels on axis 0.
        bool axis0 = node.OpType == "Conv" || (node.OpType == "Gemm" && GraphView.IntAttribute(node, "transB", 0) != 0);
        long outputs = node.OpType == "Conv" || axis0 ? w.Dims[0] : w.Dims[1];
        if (outputs < 1) throw new MobileOneException($"{source}: node '{node.Name}' has a weight with no output channels");
        bool channelwise = perChannel && axis0;
        var parameters = QuantMath.WeightParams(values, channelwise ? (int)outputs : 1, channelwise);
        var quantized = Add(g, OnnxTensors.Int8(Unique(w.Name + "_quantized"), QuantMath.QuantizeWeights(values, parameters), [.. w.Dims]));
        long[] shape = channelwise ? [outputs] : [];
        var scale = Add(g, OnnxTensors.Floats(Unique(w.Name + "_scale"), channelwise ? parameters.Select(p => p.Scale).ToArray() : [parameters[0].Scale], shape));
        var zero = Add(g, OnnxTensors.Int8(Unique(w.Name + "_zero_point"), new sbyte[channelwise ? outputs : 1], shape));
        node.Input[1] = Dequantize(w.Name, quantized, scale, zero, channelwise);
        if (node.OpType != "MatMul" && node.Input.Count > 2 && view.IsFloatInitializer(node.Input[2]))
            QuantizeBias(g, node, input, outputs, channelwise ? parameters : Enumerable.Repeat(parameters[0], (int)outputs).ToArray(), channelwise);
    }

    private void QuantizeBias(GraphProto g, NodeProto node, string input, long outputs, QuantParams[] weights, bool channelwise)
    {
        var b = view.Initializer(node.Input[2])!;
        var values = OnnxTensors.ReadFloats(b, source);
        // A bias broadcast from another shape stays in float: only one value per output channel adds to the accumulator.
        if (b.Dims.Count != 1 || values.Length != outputs) return;
        var inputScale = ranges[plan.ParamsOf[input]].Scale;
        var (ints, scales) = QuantMath.QuantizeBias(values, inputScale, weights);
        long[] shape = channelwise ? [outputs] : [];
        var quantized = Add(g, OnnxTensors.Int32(Unique(b.Name + "_quantized"), ints, [outputs]));
        var scale = Add(g, OnnxTensors.Floats(Unique(b.Name + "_scale"), channelwise ? scales : [scales[0]], shape));
        var zero = Add(g, OnnxTensors.Int32(Unique(b.Name + "_zero_point"), new int[channelwise ? outputs : 1], shape));
        node.Input[2] = Dequantize(b.Name, quantized, scale, zero, channelwise);
    }

    private string Dequantize(string name, string quantized, string scale, string zero, bool axis0)
    {
        var dq = Unique(name + "_dequantized");
        output.Add(Node("DequantizeLinear", dq, [quantized, scale, zero], axis0 ? 0 : null));
        return dq;
    }

    private NodeProto Node(string op, string outputName, string[] inputs, long? axis)
    {
        var node = new NodeProto { OpType = op, Name = Unique(outputName + "_node") };
        node.Input.AddRange(inputs);
        node.Output.Add(outputName);
        if (axis is long a) node.Attribute.Add(Export.OnnxGraphBuilder.Int("axis", a));
        return node;
    }

    private static string Add(GraphProto g, TensorProto t)
    {
        g.Initializer.Add(t);
        return t.Name;
    }

    // The float weights and biases replaced by int8 and int32 ones, and value infos of values folded away.
    private static void DropUnused(GraphProto g)
    {
        var used = g.Node.SelectMany(n => n.Input).Concat(g.Output.Select(o => o.Name)).ToHashSet();
        foreach (var t in g.Initializer.Where(t => !used.Contains(t.Name)).ToList())
        {
            g.Initializer.Remove(t);
            foreach (var v in g.Input.Where(v => v.Name == t.Name).ToList()) g.Input.Remove(v);
        }
        var produced = g.Node.SelectMany(n => n.Output).ToHashSet();
        foreach (var v in g.ValueInfo.Where(v => !produced.Contains(v.Name)).ToList()) g.ValueInfo.Remove(v);
    }
}
