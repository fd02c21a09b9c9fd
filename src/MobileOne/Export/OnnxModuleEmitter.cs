using MobileOne.Reparameterization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// Translates TorchSharp modules into ONNX nodes: the standard layers by type (a Conv2d followed by a
/// BatchNorm2d is folded into one Conv, as a deployed graph has it), Sequentials child by child, and the
/// networks and blocks that <see cref="NetworkEmitters"/> holds a rule for by that rule.
/// </summary>
internal static class OnnxModuleEmitter
{
    /// <summary>
    /// Emits one module; returns the output value's name. With <paramref name="tokens"/> the input is a
    /// sequence [B, N, d] rather than a batch of vectors, so linear layers become MatMul instead of Gemm.
    /// </summary>
    public static string Emit(OnnxGraphBuilder g, string name, nn.Module module, string x, bool tokens = false) => module switch
    {
        _ when NetworkEmitters.TryEmit(g, name, module, x) is { } y => y,
        Sequential seq => Sequence(g, name, seq.named_children().Select(c => (c.name, c.module)).ToList(), x, tokens),
        Linear linear when tokens => LinearMatMul(g, name, linear, x),
        Conv2d conv => Conv(g, name, conv, x),
        BatchNorm2d bn => BatchNorm(g, name, bn, x),
        Linear linear => g.Node("Gemm", name,
            linear.bias is null ? [x, g.Initializer(name + ".weight", linear.weight!)] : [x, g.Initializer(name + ".weight", linear.weight!), g.Initializer(name + ".bias", linear.bias)],
            OnnxGraphBuilder.Int("transB", 1)),
        Flatten f when f.start_dim == 1 && f.end_dim == -1 => g.Node("Flatten", name, [x], OnnxGraphBuilder.Int("axis", 1)),
        AdaptiveAvgPool2d p when p.output_size.All(s => s == 1) => g.Node("GlobalAveragePool", name, [x]),
        MaxPool2d p => g.Node("MaxPool", name, [x],
            OnnxGraphBuilder.Ints("kernel_shape", p.kernel_size),
            OnnxGraphBuilder.Ints("strides", p.stride ?? p.kernel_size),
            OnnxGraphBuilder.Ints("pads", [.. Pads(p.padding ?? [0, 0])]),
            OnnxGraphBuilder.Ints("dilations", p.dilation ?? [1, 1]),
            OnnxGraphBuilder.Int("ceil_mode", p.ceil_mode ? 1 : 0)),
        LayerNorm norm => LayerNorm(g, name, norm, x),
        Dropout or Models.SeededDropout or Identity => x,
        _ when Activation(g, name, module, x) is { } y => y,
        _ => throw new MobileOneException($"ONNX export: '{name}' is a {module.GetType().Name}, which the exporter does not know"),
    };

    /// <summary>Global average pooling to a [N, C] matrix: what every classifier here does before its head.</summary>
    public static string GlobalPoolFlatten(OnnxGraphBuilder g, string x) =>
        g.Node("Flatten", "flatten", [g.Node("GlobalAveragePool", "pool", [x])], OnnxGraphBuilder.Int("axis", 1));

    /// <summary>Emits named modules in order, folding each BatchNorm2d into the Conv2d right before it.</summary>
    public static string Sequence(OnnxGraphBuilder g, string prefix, IReadOnlyList<(string Name, nn.Module Module)> children, string x, bool tokens = false)
    {
        string Path(string child) => prefix.Length == 0 ? child : $"{prefix}.{child}";
        for (int i = 0; i < children.Count; i++)
        {
            var (name, module) = children[i];
            if (module is Conv2d conv && conv.bias is null && i + 1 < children.Count && children[i + 1].Module is BatchNorm2d bn)
            {
                x = ConvBn(g, Path(name), conv, bn, x);
                i++;
            }
            else
            {
                x = Emit(g, Path(name), module, x, tokens);
            }
        }
        return x;
    }

    /// <summary>A bias-free convolution with the BatchNorm after it folded in (running statistics).</summary>
    public static string ConvBn(OnnxGraphBuilder g, string name, Conv2d conv, BatchNorm2d bn, string x)
    {
        var (w, b) = BranchFusion.FoldBatchNorm(conv.weight!, bn);
        using (w) using (b) return ConvNode(g, name, conv, w, b, x);
    }

    /// <summary>A convolution as it is (with its bias, if any).</summary>
    public static string Conv(OnnxGraphBuilder g, string name, Conv2d conv, string x) => ConvNode(g, name, conv, conv.weight!, conv.bias, x);

    private static string ConvNode(OnnxGraphBuilder g, string name, Conv2d conv, Tensor weight, Tensor? bias, string x)
    {
        if (conv.padding_type is not null || conv.padding_mode != PaddingModes.Zeros)
            throw new MobileOneException($"ONNX export: '{name}' uses padding '{conv.padding_type?.ToString() ?? conv.padding_mode.ToString()}'; only explicit zero padding is supported");
        List<string> inputs = [x, g.Initializer(name + ".weight", weight)];
        if (bias is not null) inputs.Add(g.Initializer(name + ".bias", bias));
        return g.Node("Conv", name, inputs,
            OnnxGraphBuilder.Ints("kernel_shape", conv.kernel_size),
            OnnxGraphBuilder.Ints("strides", conv.stride),
            OnnxGraphBuilder.Ints("pads", [.. Pads(conv.padding ?? [0, 0])]),
            OnnxGraphBuilder.Ints("dilations", conv.dilation),
            OnnxGraphBuilder.Int("group", conv.groups));
    }

    private static IEnumerable<long> Pads(long[] padding) => padding.Concat(padding);

    /// <summary>A standalone BatchNorm2d (running statistics).</summary>
    public static string BatchNorm(OnnxGraphBuilder g, string name, BatchNorm2d bn, string x) =>
        g.Node("BatchNormalization", name,
            [x, g.Initializer($"{name}.weight", bn.weight!), g.Initializer($"{name}.bias", bn.bias!),
             g.Initializer($"{name}.running_mean", bn.running_mean!), g.Initializer($"{name}.running_var", bn.running_var!)],
            OnnxGraphBuilder.Float("epsilon", (float)bn.eps));

    /// <summary>A linear layer on inputs of any rank (MatMul with the transposed weight, then Add), unlike Gemm.</summary>
    public static string LinearMatMul(OnnxGraphBuilder g, string name, Linear linear, string x)
    {
        using var scope = NewDisposeScope();
        var wT = linear.weight!.detach().t();
        var y = g.Node("MatMul", name, [x, g.Initializer(name + ".weight_t", wT)]);
        return linear.bias is null ? y : g.Node("Add", name + ".add_bias", [y, g.Initializer(name + ".bias", linear.bias)]);
    }

    /// <summary>Bilinear resize to a fixed size with PyTorch's align_corners=False sampling (half-pixel centres).</summary>
    public static string ResizeBilinear(OnnxGraphBuilder g, string name, string x, long height, long width) =>
        ResizeBilinearTo(g, name, x, g.Int64Initializer(name + ".spatial", height, width));

    /// <summary>Bilinear resize (as <see cref="ResizeBilinear"/>) to the height and width of the value <paramref name="like"/>, whatever they are at run time.</summary>
    public static string ResizeBilinearLike(OnnxGraphBuilder g, string name, string x, string like) =>
        ResizeBilinearTo(g, name, x, ShapeSlice(g, name + ".target", like, 2, 4));

    private static string ResizeBilinearTo(OnnxGraphBuilder g, string name, string x, string spatial)
    {
        var sizes = g.Node("Concat", name + ".sizes", [ShapeSlice(g, name + ".batch_and_channels", x, 0, 2), spatial], OnnxGraphBuilder.Int("axis", 0));
        return g.Node("Resize", name, [x, g.EmptyFloat(name + ".roi"), g.EmptyFloat(name + ".scales"), sizes],
            OnnxGraphBuilder.String("mode", "linear"), OnnxGraphBuilder.String("coordinate_transformation_mode", "half_pixel"));
    }

    /// <summary>Dimensions <paramref name="start"/> to <paramref name="end"/> - 1 of the shape of <paramref name="x"/>, as an int64 vector.</summary>
    public static string ShapeSlice(OnnxGraphBuilder g, string name, string x, long start, long end) =>
        g.Node("Slice", name, [g.Node("Shape", name + ".shape", [x]), g.Int64Initializer(name + ".start", start), g.Int64Initializer(name + ".end", end)]);

    /// <summary>LayerNorm over the last axis: one LayerNormalization node from opset 17, its definition before.</summary>
    public static string LayerNorm(OnnxGraphBuilder g, string name, LayerNorm norm, string x)
    {
        if (norm.normalized_shape.Length != 1 || !norm.elementwise_affine)
            throw new MobileOneException($"ONNX export: '{name}' normalises over {norm.normalized_shape.Length} axes or has no affine parameters; only last-axis affine LayerNorm is supported");
        var w = g.Initializer(name + ".weight", norm.weight!);
        var b = g.Initializer(name + ".bias", norm.bias!);
        if (g.Opset >= 17)
            return g.Node("LayerNormalization", name, [x, w, b], OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Float("epsilon", (float)norm.eps));
        var mean = g.Node("ReduceMean", name + ".mean", [x], OnnxGraphBuilder.Ints("axes", -1), OnnxGraphBuilder.Int("keepdims", 1));
        var centred = g.Node("Sub", name + ".centred", [x, mean]);
        var variance = g.Node("ReduceMean", name + ".variance", [g.Node("Mul", name + ".squared", [centred, centred])], OnnxGraphBuilder.Ints("axes", -1), OnnxGraphBuilder.Int("keepdims", 1));
        var std = g.Node("Sqrt", name + ".std", [g.Node("Add", name + ".variance_eps", [variance, g.Scalar(name + ".eps", (float)norm.eps)])]);
        var normalised = g.Node("Div", name + ".normalised", [centred, std]);
        return g.Node("Add", name, [g.Node("Mul", name + ".scaled", [normalised, w]), b]);
    }

    /// <summary>Element-wise activations; null when <paramref name="module"/> is not one.</summary>
    public static string? Activation(OnnxGraphBuilder g, string name, nn.Module module, string x) => module switch
    {
        ReLU => g.Node("Relu", name, [x]),
        ReLU6 => Clip(g, name, x, 0, 6),
        Hardtanh h => Clip(g, name, x, (float)h.min_val, (float)h.max_val),
        Sigmoid => g.Node("Sigmoid", name, [x]),
        Tanh => g.Node("Tanh", name, [x]),
        LeakyReLU l => g.Node("LeakyRelu", name, [x], OnnxGraphBuilder.Float("alpha", (float)l.negative_slope)),
        Hardsigmoid => HardSigmoid(g, name, x),
        Hardswish => g.Opset >= 14 ? g.Node("HardSwish", name, [x]) : g.Node("Mul", name, [x, HardSigmoid(g, name + ".gate", x)]),
        SiLU => g.Node("Mul", name, [x, g.Node("Sigmoid", name + ".gate", [x])]),
        GELU gelu => Gelu(g, name, gelu, x),
        _ => null,
    };

    private static string HardSigmoid(OnnxGraphBuilder g, string name, string x) =>
        // PyTorch's hardsigmoid is relu6(x + 3) / 6, i.e. ONNX's with alpha 1/6 and beta 1/2.
        g.Node("HardSigmoid", name, [x], OnnxGraphBuilder.Float("alpha", 1f / 6), OnnxGraphBuilder.Float("beta", 0.5f));

    private static string Clip(OnnxGraphBuilder g, string name, string x, float min, float max) =>
        g.Node("Clip", name, [x, g.Scalar(name + ".min", min), g.Scalar(name + ".max", max)]);

    private static string Gelu(OnnxGraphBuilder g, string name, GELU gelu, string x)
    {
        if (gelu.approximate.ToString() != "none")
            throw new MobileOneException($"ONNX export: '{name}' is a tanh-approximated GELU; only the exact GELU is supported");
        if (g.Opset >= 20) return g.Node("Gelu", name, [x]);
        // 0.5 x (1 + erf(x / sqrt 2)), the exact definition, from opset-9 operators.
        // Div by sqrt 2 (not Mul by its inverse): the spelling ONNX Runtime's GELU fusion recognises.
        var e = g.Node("Erf", name + ".erf", [g.Node("Div", name + ".scaled", [x, g.Scalar(name + ".sqrt2", (float)Math.Sqrt(2))])]);
        var onePlus = g.Node("Add", name + ".one_plus", [e, g.Scalar(name + ".one", 1f)]);
        return g.Node("Mul", name, [g.Node("Mul", name + ".x_times", [x, onePlus]), g.Scalar(name + ".half", 0.5f)]);
    }
}
