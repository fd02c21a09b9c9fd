using MobileOne.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// The MobileViT block (Mehta and Rastegari 2022, Figure 1b): a local 3x3 conv and a 1x1 projection to
/// width d, then the feature map is cut into 2x2 patches and, for each of the 4 pixel positions of a
/// patch, a transformer attends across all patches; the map is folded back, projected to C channels and
/// fused with the input by a 3x3 conv over their concatenation. A map with an odd side is first resized
/// (bilinear) to the next even size and resized back after folding, as Apple's cvnets does. Names follow cvnets.
/// </summary>
public sealed class MobileVitBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private const int Patch = 2;

    /// <summary>Creates the block for <paramref name="channels"/> input channels, transformer width <paramref name="dim"/>.</summary>
    public MobileVitBlock(long channels, long dim, int depth, long ffnDim, long heads = 4) : base(nameof(MobileVitBlock))
    {
        Dim = dim;
        local_rep = nn.Sequential(
            ("conv_3x3", Layers.ConvNormActivation(channels, channels, 3, activation: ActivationKind.SiLU)),
            ("conv_1x1", Layers.Conv(channels, dim, 1)));
        global_rep = Layers.Numbered(Enumerable.Range(0, depth).Select(_ => (nn.Module<Tensor, Tensor>)new TransformerEncoder(dim, ffnDim, heads))
            .Append(nn.LayerNorm(dim)));
        conv_proj = Layers.ConvNormActivation(dim, channels, 1, activation: ActivationKind.SiLU);
        fusion = Layers.ConvNormActivation(2 * channels, channels, 3, activation: ActivationKind.SiLU);
        RegisterComponents();
    }

    // Field names are cvnets' state-dict names.
#pragma warning disable IDE1006
    private readonly Sequential local_rep, global_rep, conv_proj, fusion;
#pragma warning restore IDE1006

    /// <summary>Transformer width d.</summary>
    public long Dim { get; }

    /// <summary>Input height and width of the last forward pass; the ONNX graph is written for them.</summary>
    internal (long Height, long Width)? LastInputSize { get; private set; }

    private static long Even(long size) => (size + Patch - 1) / Patch * Patch;

    /// <summary>[B, d, H, W] (H, W even) to [B * 4, H W / 4, d]: one sequence of patches per pixel position.</summary>
    public static Tensor Unfold(Tensor x)
    {
        long b = x.shape[0], d = x.shape[1], nh = x.shape[2] / Patch, nw = x.shape[3] / Patch;
        return x.reshape(b, d, nh, Patch, nw, Patch).permute(0, 3, 5, 2, 4, 1).reshape(b * Patch * Patch, nh * nw, d);
    }

    /// <summary>The inverse of <see cref="Unfold"/> for a map of the given (even) height and width.</summary>
    public static Tensor Fold(Tensor patches, long height, long width)
    {
        long d = patches.shape[2], nh = height / Patch, nw = width / Patch, b = patches.shape[0] / (Patch * Patch);
        return patches.reshape(b, Patch, Patch, nh, nw, d).permute(0, 5, 3, 1, 4, 2).reshape(b, d, height, width);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long h = x.shape[2], w = x.shape[3], eh = Even(h), ew = Even(w);
        LastInputSize = (h, w);
        var fm = local_rep.call(x);
        if (eh != h || ew != w) fm = nn.functional.interpolate(fm, [eh, ew], mode: InterpolationMode.Bilinear, align_corners: false);
        fm = Fold(global_rep.call(Unfold(fm)), eh, ew);
        if (eh != h || ew != w) fm = nn.functional.interpolate(fm, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
        fm = conv_proj.call(fm);
        return fusion.call(cat([x, fm], 1)).MoveToOuterDisposeScope();
    }

    string IOnnxExportable.EmitOnnx(OnnxGraphBuilder g, string name, string x)
    {
        var (h, w) = LastInputSize ?? throw new MobileOneException($"ONNX export: '{name}' (MobileViT) needs a forward pass at the export size first");
        long eh = Even(h), ew = Even(w), nh = eh / Patch, nw = ew / Patch;
        var fm = OnnxModuleEmitter.Emit(g, name + ".local_rep", local_rep, x);
        if (eh != h || ew != w) fm = OnnxModuleEmitter.ResizeBilinear(g, name + ".resize_up", fm, eh, ew);
        // Unfold: [B, d, nh*2, nw*2] -> [B, d, nh, 2, nw, 2] -> [B, 2, 2, nh, nw, d] -> [B*4, nh*nw, d]; fold is the inverse.
        var patches = g.Node("Reshape", name + ".unfold.split", [fm, g.Int64Initializer(name + ".unfold.split.shape", -1, Dim, nh, Patch, nw, Patch)]);
        patches = g.Node("Transpose", name + ".unfold.order", [patches], OnnxGraphBuilder.Ints("perm", 0, 3, 5, 2, 4, 1));
        patches = g.Node("Reshape", name + ".unfold", [patches, g.Int64Initializer(name + ".unfold.shape", -1, nh * nw, Dim)]);
        patches = OnnxModuleEmitter.Emit(g, name + ".global_rep", global_rep, patches, tokens: true);
        fm = g.Node("Reshape", name + ".fold.split", [patches, g.Int64Initializer(name + ".fold.split.shape", -1, Patch, Patch, nh, nw, Dim)]);
        fm = g.Node("Transpose", name + ".fold.order", [fm], OnnxGraphBuilder.Ints("perm", 0, 5, 3, 1, 4, 2));
        fm = g.Node("Reshape", name + ".fold", [fm, g.Int64Initializer(name + ".fold.shape", -1, Dim, eh, ew)]);
        if (eh != h || ew != w) fm = OnnxModuleEmitter.ResizeBilinear(g, name + ".resize_down", fm, h, w);
        fm = OnnxModuleEmitter.Emit(g, name + ".conv_proj", conv_proj, fm);
        var both = g.Node("Concat", name + ".concat", [x, fm], OnnxGraphBuilder.Int("axis", 1));
        return OnnxModuleEmitter.Emit(g, name + ".fusion", fusion, both);
    }
}
