using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Zoo;

/// <summary>
/// A block whose body is a Sequential and whose output is x + body(x) when shapes allow: the inverted
/// residual of MobileNetV2/V3, EfficientNet's MBConv and MNASNet's block. Only the body's state-dict
/// name differs between them (<c>conv</c>, <c>block</c>, <c>layers</c>), so it is a parameter.
/// </summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>
{
    private readonly string bodyName;

    // An array, not a field: registering this block by name would otherwise register the body a second time under its C# name.
    private readonly Sequential[] body;

    /// <summary>Creates the block; the skip is used when <paramref name="residual"/> is true.</summary>
    public InvertedResidual(string bodyName, Sequential body, bool residual) : base(nameof(InvertedResidual))
    {
        this.bodyName = bodyName;
        this.body = [body];
        Residual = residual;
        register_module(bodyName, body);
    }

    /// <summary>The body's state-dict name (<c>conv</c>, <c>block</c> or <c>layers</c>).</summary>
    internal string BodyName => bodyName;

    /// <summary>The body, run on the input.</summary>
    internal Sequential Body => body[0];

    /// <summary>Whether the input is added to the body's output.</summary>
    public bool Residual { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (!Residual) return Body.call(x);
        using var y = Body.call(x);
        return x + y;
    }
}
