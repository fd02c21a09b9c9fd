using MobileOne.Export;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// Multi-head self-attention over a sequence [B, N, d] (names as in Apple's cvnets: <c>qkv_proj</c>,
/// <c>out_proj</c>). Its two matrix products (Q K^T and attention x V) are not convolutions or linear
/// layers; <see cref="NetworkCost"/> counts them separately, 2 N^2 d multiply-accumulates per sequence.
/// </summary>
public sealed class SelfAttention : nn.Module<Tensor, Tensor>, IOnnxExportable
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

    string IOnnxExportable.EmitOnnx(OnnxGraphBuilder g, string name, string x)
    {
        long headDim = Dim / Heads;
        var qkv = OnnxModuleEmitter.LinearMatMul(g, name + ".qkv_proj", qkv_proj, x);
        qkv = g.Node("Reshape", name + ".split_heads", [qkv, g.Int64Initializer(name + ".split_heads.shape", 0, 0, 3, Heads, headDim)]);
        qkv = g.Node("Transpose", name + ".heads_first", [qkv], OnnxGraphBuilder.Ints("perm", 2, 0, 3, 1, 4));
        string Part(string part, long i) => g.Node("Gather", $"{name}.{part}", [qkv, g.Int64Scalar($"{name}.{part}.index", i)], OnnxGraphBuilder.Int("axis", 0));
        var q = g.Node("Mul", name + ".scale", [Part("q", 0), g.Scalar(name + ".scale.value", (float)Math.Pow(headDim, -0.5))]);
        var kT = g.Node("Transpose", name + ".k_t", [Part("k", 1)], OnnxGraphBuilder.Ints("perm", 0, 1, 3, 2));
        var attention = g.Node("Softmax", name + ".softmax", [g.Node("MatMul", name + ".scores", [q, kT])], OnnxGraphBuilder.Int("axis", -1));
        var y = g.Node("MatMul", name + ".weighted", [attention, Part("v", 2)]);
        y = g.Node("Transpose", name + ".tokens_first", [y], OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3));
        y = g.Node("Reshape", name + ".merge_heads", [y, g.Int64Initializer(name + ".merge_heads.shape", 0, 0, Dim)]);
        return OnnxModuleEmitter.LinearMatMul(g, name + ".out_proj", out_proj, y);
    }
}
