using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using MobileOne.Export.Onnx;
using MobileOne.IO;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// Writes a network as an ONNX graph, from C#: MobileOne and the zoo's networks, every BatchNorm that
/// follows a convolution folded into it. A fused MobileOne becomes the plain chain the paper deploys: per block a Conv with bias and a Relu (S4's SE as GlobalAveragePool, Conv, Relu, Conv,
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

    /// <summary>Metadata key of the class names (a JSON array of strings, by output index).</summary>
    public const string ClassNamesKey = "class_names";

    /// <summary>Builds the ONNX model of any network the exporter knows (MobileOne, the zoo's networks).</summary>
    internal static ModelProto Build(nn.Module<Tensor, Tensor> model, OnnxExportOptions? options = null)
    {
        options = (options ?? new OnnxExportOptions()).Validated();
        var modules = model.modules().ToList();
        var (c, classes) = Describe(model);
        if (modules.OfType<Zoo.MobileVitBlock>().Any()) RecordShapes(model, options, (int)c);
        var g = new OnnxGraphBuilder(options.Opset);
        long?[] inputShape = options.DynamicSpatial ? [null, c, null, null] : [null, c, options.InputHeight, options.InputWidth];
        g.Input(InputName, inputShape, ["batch", "", "height", "width"]);
        using (no_grad())
        {
            var x = OnnxModuleEmitter.Emit(g, "", model, InputName);
            g.Output(x, OutputName, [null, classes], ["batch", ""]);
        }
        return Assemble(g, Metadata(model, classes, options));
    }

    /// <summary>The model around a built graph: IR version for its opset, producer, the opset import and the metadata.</summary>
    internal static ModelProto Assemble(OnnxGraphBuilder g, IEnumerable<(string Key, string Value)> metadata)
    {
        var proto = new ModelProto
        {
            IrVersion = IrVersion(g.Opset),
            ProducerName = "MobileOne.NET",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = g.Opset });
        foreach (var (k, v) in metadata) proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return proto;
    }

    /// <summary>Input channels and number of classes of a network the exporter knows.</summary>
    internal static (long InChannels, long Classes) Describe(nn.Module<Tensor, Tensor> model) => model switch
    {
        MobileOneModel m => (m.Config.InChannels, m.Config.NumClasses),
        Zoo.ZooNetwork z => (z.InChannels, z.NumClasses),
        _ => throw new MobileOneException($"ONNX export: {model.GetType().Name} is neither a MobileOne nor a zoo network"),
    };

    // MobileViT's patch reshapes are written for one spatial size: run the model once at the export size.
    private static void RecordShapes(nn.Module<Tensor, Tensor> model, OnnxExportOptions options, int channels)
    {
        if (options.DynamicSpatial)
            throw new MobileOneException("ONNX export: MobileViT blocks reshape the feature map into patches of a fixed count; export with a fixed input size, not a dynamic one");
        ForwardPass.OnZeros(model, channels, options.InputHeight, options.InputWidth);
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] ToBytes(nn.Module<Tensor, Tensor> model, OnnxExportOptions? options = null) => Build(model, options).ToByteArray();

    /// <summary>Writes the ONNX file atomically.</summary>
    public static void Export(nn.Module<Tensor, Tensor> model, string path, OnnxExportOptions? options = null) => Write(Build(model, options), path);

    /// <summary>Writes a built model to <paramref name="path"/> atomically.</summary>
    internal static void Write(ModelProto proto, string path) => AtomicFile.Write(path, s => proto.WriteTo(s));

    /// <summary>Fuses a train-time model (from its running statistics) and exports the inference graph.</summary>
    public static void ExportFused(MobileOneModel model, string path, OnnxExportOptions? options = null, Action<string>? warn = null)
    {
        if (model.IsFused) { Export(model, path, options); return; }
        using var fused = Reparameterizer.Fuse(model, warn);
        Export(fused, path, options);
    }

    private static long IrVersion(int opset) => opset switch
    {
        <= 11 => 6,
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    private static IEnumerable<(string, string)> Metadata(nn.Module<Tensor, Tensor> model, long classes, OnnxExportOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        if (model is MobileOneModel m)
        {
            yield return ("model", "MobileOne");
            yield return ("variant", MobileOneVariants.NameOf(m.Config, ignoreBranches: true) ?? "custom");
            yield return ("config", m.Config.ToJson());
            yield return ("fused", m.IsFused ? "true" : "false");
        }
        else
        {
            yield return ("model", model is Zoo.ZooNetwork z ? z.Name : model.GetType().Name);
        }
        yield return ("input_size", o.DynamicSpatial ? "dynamic" : $"{o.InputHeight}x{o.InputWidth}");
        yield return ("mean", string.Join(",", o.Mean.Select(v => v.ToString("R", inv))));
        yield return ("std", string.Join(",", o.Std.Select(v => v.ToString("R", inv))));
        yield return ("crop_pct", o.CropPct.ToString("R", inv));
        yield return ("num_classes", classes.ToString(inv));
        if (o.ClassNames is { } names)
        {
            if (names.Count != classes) throw new MobileOneException($"ONNX export: {names.Count} class names for a classifier with {classes} classes");
            yield return (ClassNamesKey, System.Text.Json.JsonSerializer.Serialize(names));
        }
        foreach (var (k, v) in o.Metadata) yield return (k, v);
    }
}
