using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using MobileOne.Export.Onnx;
using MobileOne.IO;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// Writes a MobileOne as an ONNX graph, from C#. A fused model becomes the plain chain the paper
/// deploys: per block a Conv with bias and a Relu (S4's SE as GlobalAveragePool, Conv, Relu, Conv,
/// Sigmoid, Mul), then GlobalAveragePool, Flatten and Gemm; weights are initializers. A train-time
/// model exports its branches as they run (one Conv per branch with its BatchNorm folded, the skip
/// branch as BatchNormalization, summed): that graph exists to measure what the fold saves.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Input name of the exported graph.</summary>
    public const string InputName = "input";

    /// <summary>Output name of the exported graph (logits).</summary>
    public const string OutputName = "logits";

    /// <summary>Builds the ONNX model.</summary>
    internal static ModelProto Build(MobileOneModel model, OnnxExportOptions? options = null)
    {
        options = (options ?? new OnnxExportOptions()).Validated();
        var g = new OnnxGraphBuilder();
        long c = model.Config.InChannels;
        long?[] inputShape = options.DynamicSpatial ? [null, c, null, null] : [null, c, options.InputHeight, options.InputWidth];
        g.Input(InputName, inputShape, ["batch", "", "height", "width"]);
        using (no_grad())
        {
            var x = InputName;
            foreach (var (name, block) in model.Blocks()) x = Block(g, name, block, x);
            x = g.Node("GlobalAveragePool", "pool", [x]);
            x = g.Node("Flatten", "flatten", [x], OnnxGraphBuilder.Int("axis", 1));
            x = g.Node("Gemm", "linear", [x, g.Initializer("linear.weight", model.Linear.weight!), g.Initializer("linear.bias", model.Linear.bias!)],
                OnnxGraphBuilder.Int("transB", 1));
            g.Output(x, OutputName, [null, model.Config.NumClasses], ["batch", ""]);
        }
        var proto = new ModelProto
        {
            IrVersion = IrVersion(options.Opset),
            ProducerName = "MobileOne.NET",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        foreach (var (k, v) in Metadata(model, options)) proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return proto;
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] ToBytes(MobileOneModel model, OnnxExportOptions? options = null) => Build(model, options).ToByteArray();

    /// <summary>Writes the ONNX file atomically.</summary>
    public static void Export(MobileOneModel model, string path, OnnxExportOptions? options = null)
    {
        var proto = Build(model, options);
        AtomicFile.Write(path, s => proto.WriteTo(s));
    }

    /// <summary>Fuses a train-time model (from its running statistics) and exports the inference graph.</summary>
    public static void ExportFused(MobileOneModel model, string path, OnnxExportOptions? options = null, Action<string>? warn = null)
    {
        if (model.IsFused) { Export(model, path, options); return; }
        using var fused = Reparameterizer.Fuse(model, warn);
        Export(fused, path, options);
    }

    private static string Block(OnnxGraphBuilder g, string name, MobileOneBlock block, string x)
    {
        var s = block.Spec;
        AttributeProto[] ConvAttributes(int kernel) =>
        [
            OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel),
            OnnxGraphBuilder.Ints("strides", s.Stride, s.Stride),
            OnnxGraphBuilder.Ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2),
            OnnxGraphBuilder.Ints("dilations", 1, 1),
            OnnxGraphBuilder.Int("group", s.Groups),
        ];
        string Conv(string convName, Tensor weight, Tensor bias, int kernel) =>
            g.Node("Conv", convName, [x, g.Initializer(convName + ".weight", weight), g.Initializer(convName + ".bias", bias)], ConvAttributes(kernel));

        string y;
        if (block.IsFused)
        {
            y = Conv($"{name}.reparam_conv", block.ReparamConv!.weight!, block.ReparamConv.bias!, s.KernelSize);
        }
        else
        {
            var branches = new List<string>();
            int i = 0;
            foreach (var branch in block.ConvBranches!)
            {
                var (w, b) = BranchFusion.FoldBatchNorm(branch.Conv.weight!, branch.Bn);
                using (w) using (b) branches.Add(Conv($"{name}.rbr_conv.{i++}", w, b, s.KernelSize));
            }
            if (block.Scale is not null)
            {
                var (w, b) = BranchFusion.FoldBatchNorm(block.Scale.Conv.weight!, block.Scale.Bn);
                using (w) using (b) branches.Add(Conv($"{name}.rbr_scale", w, b, 1));
            }
            if (block.Skip is { } bn)
            {
                branches.Add(g.Node("BatchNormalization", $"{name}.rbr_skip",
                    [x, g.Initializer($"{name}.rbr_skip.weight", bn.weight!), g.Initializer($"{name}.rbr_skip.bias", bn.bias!),
                     g.Initializer($"{name}.rbr_skip.running_mean", bn.running_mean!), g.Initializer($"{name}.rbr_skip.running_var", bn.running_var!)],
                    OnnxGraphBuilder.Float("epsilon", (float)bn.eps)));
            }
            y = branches.Count == 1 ? branches[0] : g.Node("Sum", $"{name}.sum", branches);
        }
        if (block.Se is { } se)
        {
            // Global pooling, not a fixed kernel, so the graph accepts any input size.
            var p = g.Node("GlobalAveragePool", $"{name}.se.pool", [y]);
            p = g.Node("Conv", $"{name}.se.reduce", [p, g.Initializer($"{name}.se.reduce.weight", se.Reduce.weight!), g.Initializer($"{name}.se.reduce.bias", se.Reduce.bias!)]);
            p = g.Node("Relu", $"{name}.se.relu", [p]);
            p = g.Node("Conv", $"{name}.se.expand", [p, g.Initializer($"{name}.se.expand.weight", se.Expand.weight!), g.Initializer($"{name}.se.expand.bias", se.Expand.bias!)]);
            p = g.Node("Sigmoid", $"{name}.se.sigmoid", [p]);
            y = g.Node("Mul", $"{name}.se.scale", [y, p]);
        }
        return g.Node("Relu", $"{name}.relu", [y]);
    }

    private static long IrVersion(int opset) => opset switch
    {
        <= 11 => 6,
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    private static IEnumerable<(string, string)> Metadata(MobileOneModel model, OnnxExportOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        yield return ("model", "MobileOne");
        yield return ("variant", MobileOneVariants.NameOf(model.Config, ignoreBranches: true) ?? "custom");
        yield return ("config", model.Config.ToJson());
        yield return ("fused", model.IsFused ? "true" : "false");
        yield return ("input_size", o.DynamicSpatial ? "dynamic" : $"{o.InputHeight}x{o.InputWidth}");
        yield return ("mean", string.Join(",", o.Mean.Select(v => v.ToString("R", inv))));
        yield return ("std", string.Join(",", o.Std.Select(v => v.ToString("R", inv))));
        yield return ("crop_pct", o.CropPct.ToString("R", inv));
        yield return ("num_classes", model.Config.NumClasses.ToString(inv));
        foreach (var (k, v) in o.Metadata) yield return (k, v);
    }
}
