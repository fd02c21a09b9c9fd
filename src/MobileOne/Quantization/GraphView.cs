using MobileOne.Export.Onnx;

namespace MobileOne.Quantization;

/// <summary>Who produces and who reads each value of a graph, which values are constants, and the graph's inputs and outputs.</summary>
internal sealed class GraphView
{
    private readonly Dictionary<string, NodeProto> producers = [];
    private readonly Dictionary<string, List<NodeProto>> consumers = [];
    private readonly Dictionary<string, TensorProto> initializers = [];

    public GraphView(GraphProto g)
    {
        foreach (var t in g.Initializer) initializers[t.Name] = t;
        foreach (var n in g.Node)
        {
            foreach (var o in n.Output) producers[o] = n;
            foreach (var i in n.Input)
            {
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = [];
                if (!list.Contains(n)) list.Add(n);
            }
        }
        // Older exporters list initializers among the inputs too; those are constants, not inputs.
        Inputs = g.Input.Select(v => v.Name).Where(n => !initializers.ContainsKey(n)).ToHashSet();
        Outputs = g.Output.Select(v => v.Name).ToHashSet();
    }

    /// <summary>The graph's real inputs (initializers excluded).</summary>
    public HashSet<string> Inputs { get; }

    /// <summary>The graph's outputs.</summary>
    public HashSet<string> Outputs { get; }

    /// <summary>The node that writes <paramref name="value"/>, or null for an input or an initializer.</summary>
    public NodeProto? Producer(string value) => producers.GetValueOrDefault(value);

    /// <summary>The nodes that read <paramref name="value"/>.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) => consumers.TryGetValue(value, out var list) ? list : [];

    /// <summary>The initializer called <paramref name="name"/>, if any.</summary>
    public TensorProto? Initializer(string name) => initializers.GetValueOrDefault(name);

    /// <summary>True for an initializer, a Constant node's output, or an empty (absent optional) input.</summary>
    public bool IsConstant(string name) => name.Length == 0 || initializers.ContainsKey(name) || Producer(name)?.OpType == "Constant";

    /// <summary>True for a float32 initializer.</summary>
    public bool IsFloatInitializer(string name) => Initializer(name)?.DataType == (int)TensorProto.Types.DataType.Float;

    /// <summary>The INT attribute <paramref name="name"/> of <paramref name="node"/>, or <paramref name="fallback"/> when absent.</summary>
    public static long IntAttribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;
}
