using MobileOne.Models;

namespace MobileOne.Export;

/// <summary>ONNX nodes of MobileOne: the network and its block, fused or train-time.</summary>
internal static class MobileOneEmitters
{
    /// <summary>Every block in order, then global pooling and the classifier.</summary>
    public static string Network(OnnxGraphBuilder g, string name, MobileOneModel model, string x)
    {
        foreach (var (blockName, block) in model.Blocks()) x = Block(g, blockName, block, x);
        x = OnnxModuleEmitter.GlobalPoolFlatten(g, x);
        return OnnxModuleEmitter.Emit(g, "linear", model.Linear, x);
    }

    /// <summary>
    /// A MobileOne block. Fused: Conv with bias and Relu. Train-time: one Conv per branch with its
    /// BatchNorm folded, the skip branch as BatchNormalization, summed: the graph that shows what the fold saves.
    /// </summary>
    public static string Block(OnnxGraphBuilder g, string name, MobileOneBlock block, string x)
    {
        var y = block.IsFused ? OnnxModuleEmitter.Conv(g, $"{name}.reparam_conv", block.ReparamConv!, x) : Branches(g, name, block, x);
        if (block.Se is { } se)
        {
            // Global pooling, not a fixed kernel, so the graph accepts any input size.
            var p = g.Node("GlobalAveragePool", $"{name}.se.pool", [y]);
            p = OnnxModuleEmitter.Conv(g, $"{name}.se.reduce", se.Reduce, p);
            p = g.Node("Relu", $"{name}.se.relu", [p]);
            p = OnnxModuleEmitter.Conv(g, $"{name}.se.expand", se.Expand, p);
            p = g.Node("Sigmoid", $"{name}.se.sigmoid", [p]);
            y = g.Node("Mul", $"{name}.se.scale", [y, p]);
        }
        return g.Node("Relu", $"{name}.relu", [y]);
    }

    private static string Branches(OnnxGraphBuilder g, string name, MobileOneBlock block, string x)
    {
        var branches = new List<string>();
        int i = 0;
        foreach (var branch in block.ConvBranches!) branches.Add(OnnxModuleEmitter.ConvBn(g, $"{name}.rbr_conv.{i++}", branch.Conv, branch.Bn, x));
        if (block.Scale is { } scale) branches.Add(OnnxModuleEmitter.ConvBn(g, $"{name}.rbr_scale", scale.Conv, scale.Bn, x));
        if (block.Skip is { } bn) branches.Add(OnnxModuleEmitter.BatchNorm(g, $"{name}.rbr_skip", bn, x));
        return branches.Count == 1 ? branches[0] : g.Node("Sum", $"{name}.sum", branches);
    }
}
