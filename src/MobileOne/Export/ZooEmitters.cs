using MobileOne.Zoo;
using TorchSharp;
using static TorchSharp.torch;
using static MobileOne.Export.OnnxModuleEmitter;

namespace MobileOne.Export;

/// <summary>ONNX nodes of the zoo's modules whose forward pass is more than their children in order.</summary>
internal static class ZooEmitters
{
    /// <summary>The body, a global average pool, then the head.</summary>
    public static string Network(OnnxGraphBuilder g, string name, ZooNetwork net, string x)
    {
        x = Sequence(g, name, Children(net.Body), x);
        x = GlobalPoolFlatten(g, x);
        return Sequence(g, name, Children(net.Head), x);
    }

    private static List<(string Name, nn.Module Module)> Children(IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> parts) =>
        parts.Select(p => (p.Name, (nn.Module)p.Module)).ToList();

    /// <summary>The body, plus the input when the block is residual.</summary>
    public static string InvertedResidual(OnnxGraphBuilder g, string name, InvertedResidual block, string x)
    {
        var y = Emit(g, $"{name}.{block.BodyName}", block.Body, x);
        return block.Residual ? g.Node("Add", name + ".add", [x, y]) : y;
    }

    /// <summary>x times the gate of the pooled, squeezed and expanded channels.</summary>
    public static string SqueezeExcitation(OnnxGraphBuilder g, string name, SqueezeExcitation se, string x)
    {
        var s = g.Node("GlobalAveragePool", name + ".pool", [x]);
        s = Conv(g, name + ".fc1", se.Fc1, s);
        s = Emit(g, name + ".activation", se.Nonlinearity, s);
        s = Conv(g, name + ".fc2", se.Fc2, s);
        s = Emit(g, name + ".scale_activation", se.Gate, s);
        return g.Node("Mul", name + ".scale", [x, s]);
    }

    /// <summary>Two conv+BN (the first with a Relu), the shortcut added, then a Relu.</summary>
    public static string BasicBlock(OnnxGraphBuilder g, string name, BasicBlock block, string x)
    {
        var y = ConvBn(g, name + ".conv1", block.First.Conv, block.First.Bn, x);
        y = g.Node("Relu", name + ".relu1", [y]);
        y = ConvBn(g, name + ".conv2", block.Second.Conv, block.Second.Bn, y);
        var shortcut = block.Downsample is null ? x : Emit(g, name + ".downsample", block.Downsample, x);
        return g.Node("Relu", name + ".relu2", [g.Node("Add", name + ".add", [y, shortcut])]);
    }

    /// <summary>The two branches concatenated, then the channel shuffle.</summary>
    public static string ShuffleUnit(OnnxGraphBuilder g, string name, ShuffleUnit unit, string x)
    {
        var y = unit.Stride == 1 ? HalfTransformed(g, name, unit, x)
            : g.Node("Concat", name + ".concat", [Emit(g, name + ".branch1", unit.Branch1, x), Emit(g, name + ".branch2", unit.Branch2, x)], OnnxGraphBuilder.Int("axis", 1));
        // Shuffle without fixing N, H or W: [N, C, H, W] -> [N, 2, C/2, H*W] -> swap -> back to y's own shape.
        var shape = g.Node("Shape", name + ".shape", [y]);
        var grouped = g.Node("Reshape", name + ".group", [y, g.Int64Initializer(name + ".group.shape", 0, 2, unit.OutChannels / 2, -1)]);
        var swapped = g.Node("Transpose", name + ".swap", [grouped], OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3));
        return g.Node("Reshape", name + ".shuffle", [swapped, shape]);
    }

    // Stride 1: the first half kept, the second through branch2.
    private static string HalfTransformed(OnnxGraphBuilder g, string name, ShuffleUnit unit, string x)
    {
        long half = unit.InChannels / 2;
        string Slice(string part, long start, long end) => g.Node("Slice", $"{name}.{part}",
            [x, g.Int64Initializer($"{name}.{part}.starts", start), g.Int64Initializer($"{name}.{part}.ends", end), g.Int64Initializer($"{name}.{part}.axes", 1)]);
        var kept = Slice("first_half", 0, half);
        var transformed = Emit(g, name + ".branch2", unit.Branch2, Slice("second_half", half, unit.InChannels));
        return g.Node("Concat", name + ".concat", [kept, transformed], OnnxGraphBuilder.Int("axis", 1));
    }

    /// <summary>x + MHSA(LN(x)), then x + FFN(LN(x)), on tokens.</summary>
    public static string TransformerEncoder(OnnxGraphBuilder g, string name, TransformerEncoder layer, string x)
    {
        var h = g.Node("Add", name + ".mha_residual", [x, Emit(g, name + ".pre_norm_mha", layer.Attention, x, tokens: true)]);
        return g.Node("Add", name + ".ffn_residual", [h, Emit(g, name + ".pre_norm_ffn", layer.FeedForward, h, tokens: true)]);
    }

    /// <summary>Multi-head self-attention over [B, N, d] tokens.</summary>
    public static string SelfAttention(OnnxGraphBuilder g, string name, SelfAttention attn, string x)
    {
        long headDim = attn.Dim / attn.Heads;
        var qkv = LinearMatMul(g, name + ".qkv_proj", attn.QkvProjection, x);
        qkv = g.Node("Reshape", name + ".split_heads", [qkv, g.Int64Initializer(name + ".split_heads.shape", 0, 0, 3, attn.Heads, headDim)]);
        qkv = g.Node("Transpose", name + ".heads_first", [qkv], OnnxGraphBuilder.Ints("perm", 2, 0, 3, 1, 4));
        string Part(string part, long i) => g.Node("Gather", $"{name}.{part}", [qkv, g.Int64Scalar($"{name}.{part}.index", i)], OnnxGraphBuilder.Int("axis", 0));
        var q = g.Node("Mul", name + ".scale", [Part("q", 0), g.Scalar(name + ".scale.value", (float)Math.Pow(headDim, -0.5))]);
        var kT = g.Node("Transpose", name + ".k_t", [Part("k", 1)], OnnxGraphBuilder.Ints("perm", 0, 1, 3, 2));
        var attention = g.Node("Softmax", name + ".softmax", [g.Node("MatMul", name + ".scores", [q, kT])], OnnxGraphBuilder.Int("axis", -1));
        var y = g.Node("MatMul", name + ".weighted", [attention, Part("v", 2)]);
        y = g.Node("Transpose", name + ".tokens_first", [y], OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3));
        y = g.Node("Reshape", name + ".merge_heads", [y, g.Int64Initializer(name + ".merge_heads.shape", 0, 0, attn.Dim)]);
        return LinearMatMul(g, name + ".out_proj", attn.OutProjection, y);
    }

    /// <summary>
    /// The MobileViT block at the size of its last forward pass: local representation, unfold into
    /// patches, transformer, fold, projection, fusion with the input.
    /// </summary>
    public static string MobileVit(OnnxGraphBuilder g, string name, MobileVitBlock block, string x)
    {
        var (h, w) = block.LastInputSize ?? throw new MobileOneException($"ONNX export: '{name}' (MobileViT) needs a forward pass at the export size first");
        long eh = MobileVitBlock.Even(h), ew = MobileVitBlock.Even(w);
        var fm = Emit(g, name + ".local_rep", block.LocalRep, x);
        if (eh != h || ew != w) fm = ResizeBilinear(g, name + ".resize_up", fm, eh, ew);
        fm = PatchTransformer(g, name, block, fm, eh, ew);
        if (eh != h || ew != w) fm = ResizeBilinear(g, name + ".resize_down", fm, h, w);
        fm = Emit(g, name + ".conv_proj", block.ConvProj, fm);
        var both = g.Node("Concat", name + ".concat", [x, fm], OnnxGraphBuilder.Int("axis", 1));
        return Emit(g, name + ".fusion", block.Fusion, both);
    }

    // Unfold: [B, d, nh*2, nw*2] -> [B, d, nh, 2, nw, 2] -> [B, 2, 2, nh, nw, d] -> [B*4, nh*nw, d]; the transformer; fold is the inverse.
    private static string PatchTransformer(OnnxGraphBuilder g, string name, MobileVitBlock block, string fm, long eh, long ew)
    {
        const int P = MobileVitBlock.Patch;
        long nh = eh / P, nw = ew / P, d = block.Dim;
        var patches = g.Node("Reshape", name + ".unfold.split", [fm, g.Int64Initializer(name + ".unfold.split.shape", -1, d, nh, P, nw, P)]);
        patches = g.Node("Transpose", name + ".unfold.order", [patches], OnnxGraphBuilder.Ints("perm", 0, 3, 5, 2, 4, 1));
        patches = g.Node("Reshape", name + ".unfold", [patches, g.Int64Initializer(name + ".unfold.shape", -1, nh * nw, d)]);
        patches = Emit(g, name + ".global_rep", block.GlobalRep, patches, tokens: true);
        fm = g.Node("Reshape", name + ".fold.split", [patches, g.Int64Initializer(name + ".fold.split.shape", -1, P, P, nh, nw, d)]);
        fm = g.Node("Transpose", name + ".fold.order", [fm], OnnxGraphBuilder.Ints("perm", 0, 5, 3, 1, 4, 2));
        return g.Node("Reshape", name + ".fold", [fm, g.Int64Initializer(name + ".fold.shape", -1, d, eh, ew)]);
    }
}
