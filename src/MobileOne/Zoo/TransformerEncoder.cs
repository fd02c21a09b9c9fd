using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// A pre-norm transformer layer as MobileViT uses it: x + MHSA(LN(x)), then x + FFN(LN(x)) with a
/// SiLU feed-forward network (names as in cvnets: <c>pre_norm_mha</c>, <c>pre_norm_ffn</c>).
/// </summary>
public sealed class TransformerEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public TransformerEncoder(long dim, long ffnDim, long heads) : base(nameof(TransformerEncoder))
    {
        pre_norm_mha = Layers.Numbered(nn.LayerNorm(dim), new SelfAttention(dim, heads), nn.Dropout(0.0));
        pre_norm_ffn = Layers.Numbered(nn.LayerNorm(dim), nn.Linear(dim, ffnDim), nn.SiLU(), nn.Dropout(0.0), nn.Linear(ffnDim, dim), nn.Dropout(0.0));
        RegisterComponents();
    }

    // Field names are cvnets' state-dict names.
#pragma warning disable IDE1006
    private readonly Sequential pre_norm_mha, pre_norm_ffn;
#pragma warning restore IDE1006

    /// <summary>LayerNorm, self-attention and dropout, added to the input.</summary>
    internal Sequential Attention => pre_norm_mha;

    /// <summary>LayerNorm and the feed-forward network, added to the attention's output.</summary>
    internal Sequential FeedForward => pre_norm_ffn;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + pre_norm_mha.call(x);
        return (h + pre_norm_ffn.call(h)).MoveToOuterDisposeScope();
    }
}
