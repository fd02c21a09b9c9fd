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
public sealed class MobileVitBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Side of the square patches the map is cut into.</summary>
    internal const int Patch = 2;

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

    /// <summary>The local representation (3x3 conv, then 1x1 projection to width d).</summary>
    internal Sequential LocalRep => local_rep;

    /// <summary>The transformer layers and their final LayerNorm.</summary>
    internal Sequential GlobalRep => global_rep;

    /// <summary>The 1x1 projection back to the input's channels.</summary>
    internal Sequential ConvProj => conv_proj;

    /// <summary>The 3x3 convolution over the input and the projection, concatenated.</summary>
    internal Sequential Fusion => fusion;

    /// <summary>Transformer width d.</summary>
    public long Dim { get; }

    /// <summary>Input height and width of the last forward pass; the ONNX graph is written for them.</summary>
    internal (long Height, long Width)? LastInputSize { get; private set; }

    /// <summary>The size rounded up to a whole number of patches.</summary>
    internal static long Even(long size) => (size + Patch - 1) / Patch * Patch;

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
}
