using MobileOne.Export.Onnx;

namespace MobileOne.Quantization;

/// <summary>
/// What the QDQ rewrite of a float graph quantises, decided from the graph alone (before calibration):
/// <list type="bullet">
/// <item>the Conv, Gemm and MatMul nodes with constant weights, except those kept in float;</item>
/// <item>a Relu after such a node (or after an Add of two activations) is folded away: the uint8 encoding of its
/// input with zero point 0 saturates negatives to 0, which is what the Relu did;</item>
/// <item>the activations those nodes read and write get a QuantizeLinear/DequantizeLinear pair, and so do the
/// inputs of the pooling, Flatten, Reshape and Add nodes that feed them, so that ONNX Runtime runs the whole
/// chain in int8 (QLinearConv, QLinearGlobalAveragePool, QGemm);</item>
/// <item>a Flatten, Reshape or MaxPool passes its input's range on unchanged; every other quantised tensor is calibrated.</item>
/// </list>
/// </summary>
internal sealed class QdqPlan
{
    private static readonly HashSet<string> Backward = ["GlobalAveragePool", "AveragePool", "MaxPool", "Flatten", "Reshape", "Add"];
    private static readonly HashSet<string> PassThrough = ["Flatten", "Reshape", "MaxPool"];

    private readonly Dictionary<string, string> preRelu;

    private QdqPlan(GraphProto folded, List<NodeProto> nodes, List<string> quantized, Dictionary<string, string> paramsOf, Folds foldedRelus, List<string> keptFloat)
    {
        preRelu = foldedRelus.PreRelu;
        Folded = folded;
        Nodes = nodes;
        Quantized = quantized;
        ParamsOf = paramsOf;
        FoldedRelus = foldedRelus.Names;
        KeptFloat = keptFloat;
        Calibrated = quantized.Select(t => paramsOf[t]).Distinct().ToList();
    }

    /// <summary>A copy of the graph with the folded Relus removed (each producer writes the Relu's output name instead).</summary>
    public GraphProto Folded { get; }

    /// <summary>The Conv/Gemm/MatMul nodes of <see cref="Folded"/> whose weights become int8.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>Activations that get a QuantizeLinear/DequantizeLinear pair, in the order the graph produces them.</summary>
    public IReadOnlyList<string> Quantized { get; }

    /// <summary>For each quantised activation, the calibrated tensor whose range it takes (itself, or the input of a pass-through node).</summary>
    public IReadOnlyDictionary<string, string> ParamsOf { get; }

    /// <summary>The tensors calibration must observe (all named in the original graph too).</summary>
    public IReadOnlyList<string> Calibrated { get; }

    /// <summary>Names of the Relu nodes folded away.</summary>
    public IReadOnlyList<string> FoldedRelus { get; }

    /// <summary>Names of the nodes kept in float at the caller's request.</summary>
    public IReadOnlyList<string> KeptFloat { get; }

    /// <summary>The name <paramref name="node"/>'s output has in the original graph: before the Relu folded into it, if any.</summary>
    public string OriginalOutput(NodeProto node) => preRelu.GetValueOrDefault(node.Output[0], node.Output[0]);

    /// <summary>Plans the rewrite of <paramref name="graph"/> (left unchanged); <paramref name="keepFloat"/> names layers to leave in float (see <see cref="KeepFloatSet"/>).</summary>
    public static QdqPlan Make(GraphProto graph, IReadOnlyCollection<string> keepFloat, string source)
    {
        var g = graph.Clone();
        NameNodes(g);
        var view = new GraphView(g);
        var keep = KeepFloatSet(g, view, keepFloat, source);
        var nodes = g.Node.Where(n => !keep.Contains(n.Name) && IsQuantizable(n, view)).ToList();
        var folded = FoldRelus(g, view, nodes, keep);
        view = new GraphView(g);
        var q = new HashSet<string>();
        foreach (var n in nodes)
        {
            q.Add(n.Input[0]);
            if (!view.Outputs.Contains(n.Output[0]) && view.Consumers(n.Output[0]).Count > 0) q.Add(n.Output[0]);
        }
        foreach (var r in folded.Outputs) q.Add(r);
        AddPoolInputs(q, view, keep);
        var order = view.Inputs.Where(q.Contains).Concat(g.Node.SelectMany(n => n.Output).Where(q.Contains)).ToList();
        var paramsOf = new Dictionary<string, string>();
        foreach (var t in order)
            paramsOf[t] = view.Producer(t) is { } p && PassThrough.Contains(p.OpType) && paramsOf.TryGetValue(p.Input[0], out var from) ? from : t;
        return new QdqPlan(g, nodes, order, paramsOf, folded, [.. keep]);
    }

    // Nodes are told apart by name from here on; a graph from elsewhere may leave names empty or repeat them.
    private static void NameNodes(GraphProto g)
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < g.Node.Count; i++)
            if (g.Node[i].Name.Length == 0 || !seen.Add(g.Node[i].Name))
            {
                var name = $"{g.Node[i].OpType}_{i}";
                for (int k = 1; !seen.Add(name); k++) name = $"{g.Node[i].OpType}_{i}_{k}";
                g.Node[i].Name = name;
            }
    }

    // Constant-weight Conv, Gemm (A not transposed) and MatMul over an activation: the nodes ONNX Runtime has integer kernels for.
    private static bool IsQuantizable(NodeProto n, GraphView view)
    {
        if (n.Domain is { Length: > 0 } and not "ai.onnx" || n.Input.Count < 2 || view.IsConstant(n.Input[0]) || !view.IsFloatInitializer(n.Input[1])) return false;
        return n.OpType switch
        {
            "Conv" => true,
            "Gemm" => GraphView.IntAttribute(n, "transA", 0) == 0 && view.Initializer(n.Input[1])!.Dims.Count == 2,
            "MatMul" => view.Initializer(n.Input[1])!.Dims.Count == 2,
            _ => false,
        };
    }

    private sealed record Folds(List<string> Names, List<string> Outputs, Dictionary<string, string> PreRelu);

    // Removes each Relu whose input only it reads, produced by a quantised node or by an Add of two activations.
    private static Folds FoldRelus(GraphProto g, GraphView view, List<NodeProto> nodes, HashSet<string> keep)
    {
        var result = new Folds([], [], []);
        var quantized = nodes.ToHashSet();
        foreach (var relu in g.Node.Where(n => n.OpType == "Relu" && n.Input.Count == 1 && !keep.Contains(n.Name)).ToList())
        {
            var x = relu.Input[0];
            if (view.Producer(x) is not { } p || view.Consumers(x).Count != 1 || view.Outputs.Contains(x) || view.Outputs.Contains(relu.Output[0])) continue;
            bool activationAdd = p.OpType == "Add" && !keep.Contains(p.Name) && p.Input.All(i => !view.IsConstant(i));
            if (!quantized.Contains(p) && !activationAdd) continue;
            for (int i = 0; i < p.Output.Count; i++) if (p.Output[i] == x) p.Output[i] = relu.Output[0];
            g.Node.Remove(relu);
            result.Names.Add(relu.Name);
            result.Outputs.Add(relu.Output[0]);
            result.PreRelu[relu.Output[0]] = x;
        }
        return result;
    }

    // A quantised tensor written by a pooling, Flatten, Reshape or Add node: that node runs in int8 only when its inputs are quantised too.
    private static void AddPoolInputs(HashSet<string> q, GraphView view, HashSet<string> keep)
    {
        var work = new Queue<string>(q);
        while (work.TryDequeue(out var t))
        {
            if (view.Producer(t) is not { } p || !Backward.Contains(p.OpType) || keep.Contains(p.Name)) continue;
            var inputs = p.OpType == "Reshape" ? p.Input.Take(1) : p.Input;
            if (p.OpType == "Add" && inputs.Any(view.IsConstant)) continue;
            foreach (var i in inputs)
                if (!view.IsConstant(i) && q.Add(i)) work.Enqueue(i);
        }
    }

    /// <summary>
    /// The nodes to leave in float: <c>stem</c> names the quantisable nodes that read a graph input, <c>classifier</c> those
    /// that write a graph output; any other entry is a node name, or a prefix of node names up to a dot (<c>stage0</c>
    /// covers <c>stage0.reparam_conv</c> and <c>stage0.relu</c>). An entry that names nothing is an error.
    /// </summary>
    internal static HashSet<string> KeepFloatSet(GraphProto g, GraphView view, IReadOnlyCollection<string> names, string source)
    {
        var keep = new HashSet<string>();
        foreach (var name in names)
        {
            var matched = name switch
            {
                "stem" => g.Node.Where(n => IsQuantizable(n, view) && n.Input.Take(1).Any(view.Inputs.Contains)),
                "classifier" => g.Node.Where(n => IsQuantizable(n, view) && n.Output.Any(view.Outputs.Contains)),
                _ => g.Node.Where(n => n.Name == name || n.Name.StartsWith(name + ".", StringComparison.Ordinal)),
            };
            var found = matched.Select(n => n.Name).ToList();
            keep.UnionWith(found);
            if (found.Count == 0)
                throw new MobileOneException($"{source}: no layer matches '{name}' to keep in float; name a node, a prefix of node names such as 'stage0', 'stem' or 'classifier'");
        }
        return keep;
    }
}
