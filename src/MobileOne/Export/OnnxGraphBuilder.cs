using System.Runtime.InteropServices;
using Google.Protobuf;
using MobileOne.Export.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// Assembles an ONNX graph node by node: float32 initializers from tensors, nodes with attributes,
/// and unique value names. Knows nothing about MobileOne.
/// </summary>
internal sealed class OnnxGraphBuilder(int opset)
{
    private readonly GraphProto graph = new() { Name = "main" };

    /// <summary>The opset the graph targets (some operators have a newer, fused form).</summary>
    public int Opset { get; } = opset;
    private readonly HashSet<string> names = [];

    /// <summary>The graph built so far.</summary>
    internal GraphProto Graph => graph;

    /// <summary>Op types used, in order of first use.</summary>
    public List<string> OpTypes { get; } = [];

    private string Unique(string name)
    {
        var candidate = name;
        for (int i = 1; !names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    /// <summary>Adds a float32 initializer holding <paramref name="value"/>; returns its name.</summary>
    public string Initializer(string name, Tensor value)
    {
        using var c = value.detach().cpu().to(float32).contiguous();
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(c.shape);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()));
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a float32 scalar initializer (an operand of Clip, Mul and the like); returns its name.</summary>
    public string Scalar(string name, float value)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        t.FloatData.Add(value);
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a 0-d int64 initializer (an index that drops its axis in Gather); returns its name.</summary>
    public string Int64Scalar(string name, long value)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Int64Data.Add(value);
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds an empty float32 initializer (an optional input left unset, such as Resize's scales); returns its name.</summary>
    public string EmptyFloat(string name)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(0);
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds an int64 initializer (shapes for Reshape and the like); returns its name.</summary>
    public string Int64Initializer(string name, params long[] values)
    {
        var t = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node with one output; returns the output's name.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        Nodes(opType, name, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs (TopK's values and indices, say); returns their names.</summary>
    public string[] Nodes(string opType, string name, IEnumerable<string> inputs, int outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Unique(name) };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => Unique(name + (i == 0 ? "_out" : $"_out{i}"))).ToArray();
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        if (!OpTypes.Contains(opType)) OpTypes.Add(opType);
        return names;
    }

    /// <summary>Declares a float32 graph input; a null dimension is symbolic, named by <paramref name="symbols"/>.</summary>
    public void Input(string name, long?[] shape, string[] symbols) => graph.Input.Add(ValueInfo(Unique(name), shape, symbols));

    /// <summary>Declares <paramref name="value"/> as a graph output named <paramref name="name"/>, float32 unless <paramref name="type"/> says otherwise.</summary>
    public void Output(string value, string name, long?[] shape, string[] symbols, TensorProto.Types.DataType type = TensorProto.Types.DataType.Float)
    {
        // Rename the producing node's output so the graph output has a stable public name.
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == value) node.Output[i] = name;
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == value) node.Input[i] = name;
        names.Add(name);
        graph.Output.Add(ValueInfo(name, shape, symbols, type));
    }

    private static ValueInfoProto ValueInfo(string name, long?[] shape, string[] symbols, TensorProto.Types.DataType type = TensorProto.Types.DataType.Float)
    {
        var tensorShape = new TensorShapeProto();
        for (int i = 0; i < shape.Length; i++)
            tensorShape.Dim.Add(shape[i] is long d
                ? new TensorShapeProto.Types.Dimension { DimValue = d }
                : new TensorShapeProto.Types.Dimension { DimParam = symbols[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A STRING attribute.</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
