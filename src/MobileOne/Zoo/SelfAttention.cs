using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// Multi-head self-attention over a sequence [B, N, d] (names as in Apple's cvnets: <c>qkv_proj</c>,
/// <c>out_proj</c>). Its two matrix products (Q K^T and attention x V) are not convolutions or linear
/// layers; <see cref="NetworkCost"/> counts them separately, 2 N^2 d multiply-accumulates per sequence.
/// </summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    public SelfAttention(long dim, long heads) : base(nameof(SelfAttention))
    {
        if (dim % heads != 0) throw new MobileOneException($"attention width {dim} is not divisible by {heads} heads");
        Dim = dim;
        Heads = heads;
        qkv_proj = nn.Linear(dim, 3 * dim);
        out_proj = nn.Linear(dim, dim);
        RegisterComponents();
    }

    // Field names are cvnets' state-dict names.
#pragma warning disable IDE1006
    private readonly Linear qkv_proj, out_proj;
#pragma warning restore IDE1006

    /// <summary>The joint query, key and value projection.</summary>
    internal Linear QkvProjection => qkv_proj;

    /// <summary>The output projection.</summary>
    internal Linear OutProjection => out_proj;

    /// <summary>Embedding width d.</summary>
    public long Dim { get; }

    /// <summary>Number of heads.</summary>
    public long Heads { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], headDim = Dim / Heads;
        // [B, N, 3, h, dh] -> [3, B, h, N, dh]
        var qkv = qkv_proj.call(x).view(b, n, 3, Heads, headDim).permute(2, 0, 3, 1, 4);
        var q = qkv[0] * Math.Pow(headDim, -0.5);
        var attention = q.matmul(qkv[1].transpose(-1, -2)).softmax(-1);
        var y = attention.matmul(qkv[2]).transpose(1, 2).reshape(b, n, Dim);
        return out_proj.call(y).MoveToOuterDisposeScope();
    }
}
