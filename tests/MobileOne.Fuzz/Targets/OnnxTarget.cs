using System.Numerics;
using System.Text;
using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Fuzz.Mutation;
using MobileOne.Inference;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// <c>ImageClassifier.FromOnnx</c> then <c>Classify</c> of a small image, as <c>predict --onnx</c> runs them:
/// ONNX Runtime's session, the input/output checks, the preprocessing read from the metadata, inference.
/// Mutations edit the protobuf generically (any varint, string or length) and where it matters: input and
/// output dimensions, the <c>mean</c>/<c>std</c>/<c>crop_pct</c> metadata, initializers, nodes, opsets.
/// </summary>
public sealed class OnnxTarget : FuzzTarget
{
    // ONNX field numbers: ModelProto, GraphProto, ValueInfoProto/TypeProto, TensorProto, NodeProto.
    private const int ModelGraph = 7, ModelOpset = 8, ModelMetadata = 14, ModelIrVersion = 1;
    private const int GraphNode = 1, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;

    private static readonly RgbImage Probe = new(40, 30, Enumerable.Range(0, 40 * 30 * 3).Select(i => (byte)(i * 13)).ToArray());

    private static readonly string[] MeanStd =
    [
        "", "abc", "1,2", "1,2,3,4", "NaN,NaN,NaN", "0,0,0", "-1,-1,-1", "1e39,0,0", "0.5;0.5;0.5", " 0.5, 0.5, 0.5", "0x10,1,1", ",,",
        "0.485,0.456,", "\u221e,1,1", "1e-45,1e-45,1e-45", "Infinity,1,1", "1,2,3,4,5,6,7,8,9,10",
    ];

    private static readonly string[] CropPct = ["0", "-1", "NaN", "2", "1e-300", "abc", "Infinity", "0.0000001", "1", "", "1e308", "0.875,0.9"];

    private sealed record Seed(string Name, List<PbField> Model, byte[] File);

    private List<Seed> seeds = [];

    /// <inheritdoc/>
    public override string Name => "onnx";

    /// <inheritdoc/>
    public override void Run(string path)
    {
        using var classifier = ImageClassifier.FromOnnx(path);
        classifier.Classify([Probe], 5);
    }

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        seeds = [];
        void Add(string name, Models.MobileOneConfig config, OnnxExportOptions options)
        {
            var bytes = factory.ViaFile("seed.onnx", p => OnnxExporter.Export(factory.Model(config, fused: true), p, options));
            seeds.Add(new Seed(name, Protobuf.Parse(bytes) ?? throw new InvalidOperationException("the exported ONNX seed does not parse"), bytes));
        }
        Add("fixed32-opset17", SeedFactory.Tiny, new OnnxExportOptions { InputHeight = 32, InputWidth = 32 });
        Add("dynamic-opset13", SeedFactory.Tiny, new OnnxExportOptions { DynamicSpatial = true, Opset = 13 });
        Add("se-fixed32-opset21", SeedFactory.TinySe, new OnnxExportOptions { InputHeight = 32, InputWidth = 32, Opset = 21 });
        return new FuzzPlan(
            seeds.Select(s => new Mutant(s.File, ".onnx", "seed", $"seed {s.Name}")).ToList(),
            [
                new("input-dims", 3, rng => Dims(rng, GraphInput, "input-dims")),
                new("output-dims", 1.5, rng => Dims(rng, GraphOutput, "output-dims")),
                new("metadata", 3, Metadata),
                new("initializers", 2, Initializers),
                new("nodes", 1.5, Nodes),
                new("protobuf", 3, Generic),
                new("opset", 0.5, Opset),
                new("bytes", 2, Havoc),
            ]);
    }

    private static ulong Varint(BigInteger v) => (ulong)(v & ulong.MaxValue);

    private Mutant Make(Seed seed, List<PbField> model, string strategy, string detail) =>
        new(Protobuf.Write(model), ".onnx", strategy, $"seed {seed.Name}: {detail}");

    private (Seed Seed, List<PbField> Model) Copy(Random rng)
    {
        var seed = rng.Pick(seeds);
        return (seed, seed.Model.Select(f => f.Clone()).ToList());
    }

    private static PbField Text(int number, string value) => new() { Number = number, WireType = 2, Bytes = Encoding.UTF8.GetBytes(value) };

    private Mutant Dims(Random rng, int which, string strategy)
    {
        var (seed, model) = Copy(rng);
        // graph.input/output -> ValueInfoProto.type -> TypeProto.tensor_type
        var tensorType = Protobuf.Find(model, ModelGraph, which, 2, 1).First();
        var shape = tensorType.Message!.First(f => f.Number == 2);
        var dims = shape.Message!;
        string detail;
        switch (rng.Next(6))
        {
            case 5:
            {
                // Another kind of value than a tensor: sparse tensor (8), or a sequence (4) / optional (9) of the tensor.
                var typeProto = Protobuf.Find(model, ModelGraph, which, 2).First();
                int kind = rng.Pick(new[] { 4, 8, 9 });
                var replacement = kind == 8
                    ? new PbField { Number = 8, WireType = 2, Message = tensorType.Message!.Select(f => f.Clone()).ToList() }
                    : new PbField { Number = kind, WireType = 2, Message = [new PbField { Number = 1, WireType = 2, Message = [tensorType.Clone()] }] };
                typeProto.Message!.Remove(tensorType);
                typeProto.Message!.Add(replacement);
                detail = $"type := {kind switch { 4 => "sequence of the tensor", 8 => "sparse tensor", _ => "optional tensor" }}";
                break;
            }
            case 0 or 1 or 2:
            {
                int i = rng.Next(dims.Count);
                var value = rng.Chance(0.5) ? rng.Pick(new BigInteger[] { 100_000, 0, 1, 2, 3, 4, 64, 4096, 65536 }) : rng.Pick(Interesting.Integers);
                dims[i].Message = [new PbField { Number = 1, WireType = 0, Varint = Varint(value) }];
                detail = $"dim {i} := {value}";
                break;
            }
            case 3:
            {
                uint elem = rng.Pick(new uint[] { 0, 10, 11, 7, 2, 16, 9999 });
                tensorType.Message!.RemoveAll(f => f.Number == 1);
                tensorType.Message!.Insert(0, new PbField { Number = 1, WireType = 0, Varint = elem });
                detail = $"element type := {elem}";
                break;
            }
            default:
                if (rng.Chance(0.5)) { dims.Add(dims[^1].Clone()); detail = "one more dimension"; }
                else { dims.RemoveAt(rng.Next(dims.Count)); detail = "one dimension fewer"; }
                break;
        }
        return Make(seed, model, strategy, detail);
    }

    private Mutant Metadata(Random rng)
    {
        var (seed, model) = Copy(rng);
        var entries = model.Where(f => f.Number == ModelMetadata).ToList();
        var wanted = rng.Chance(0.8) ? rng.Pick(new[] { "mean", "std", "crop_pct" }) : null;
        var entry = entries.FirstOrDefault(e => e.Message!.Any(k => k.Number == 1 && Encoding.UTF8.GetString(k.Bytes) == wanted)) ?? rng.Pick(entries);
        var key = Encoding.UTF8.GetString(entry.Message!.First(f => f.Number == 1).Bytes);
        string value = key == "crop_pct" ? rng.Pick(CropPct) : rng.Chance(0.7) ? rng.Pick(MeanStd) : rng.Pick(Interesting.Strings);
        string detail;
        switch (rng.Next(5))
        {
            case 0:
                model.Remove(entry);
                detail = $"metadata '{key}' removed";
                break;
            case 1:
                model.Add(new PbField { Number = ModelMetadata, WireType = 2, Message = [Text(1, key), Text(2, value)] });
                detail = $"second metadata '{key}' = '{Shorten(value)}'";
                break;
            default:
                entry.Message!.RemoveAll(f => f.Number == 2);
                entry.Message!.Add(Text(2, value));
                detail = $"metadata '{key}' = '{Shorten(value)}'";
                break;
        }
        return Make(seed, model, "metadata", detail);
    }

    private Mutant Initializers(Random rng)
    {
        var (seed, model) = Copy(rng);
        var tensor = rng.Pick(Protobuf.Find(model, ModelGraph, GraphInitializer));
        var fields = tensor.Message!;
        string name = Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 8)?.Bytes ?? []);
        string detail;
        switch (rng.Next(4))
        {
            case 0:
            {
                var dims = fields.Where(f => f.Number == 1 && f.WireType == 0).ToList();
                if (dims.Count == 0) goto case 1;
                var dim = rng.Pick(dims);
                var value = rng.Pick(Interesting.Integers);
                dim.Varint = Varint(value);
                detail = $"initializer '{name}' dim := {value}";
                break;
            }
            case 1:
            {
                uint type = rng.Pick(new uint[] { 0, 2, 7, 10, 11, 16, 8, 9999 });
                fields.RemoveAll(f => f.Number == 2);
                fields.Add(new PbField { Number = 2, WireType = 0, Varint = type });
                detail = $"initializer '{name}' data_type := {type}";
                break;
            }
            case 2:
            {
                var raw = fields.FirstOrDefault(f => f.Number == 9);
                if (raw is null) goto case 1;
                var (data, what) = Bytes.ResizeTail(raw.Bytes, rng);
                raw.Message = null;
                raw.Bytes = data;
                detail = $"initializer '{name}' raw_data {what}";
                break;
            }
            default:
            {
                var other = rng.Pick(new[] { "", "input", "logits", name + "_x" });
                fields.RemoveAll(f => f.Number == 8);
                fields.Add(Text(8, other));
                detail = $"initializer '{name}' renamed '{other}'";
                break;
            }
        }
        return Make(seed, model, "initializers", detail);
    }

    private Mutant Nodes(Random rng)
    {
        var (seed, model) = Copy(rng);
        var nodes = Protobuf.Find(model, ModelGraph, GraphNode);
        var node = rng.Pick(nodes);
        var fields = node.Message!;
        string op = Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 4)?.Bytes ?? []);
        string detail;
        switch (rng.Next(4))
        {
            case 0:
            {
                var type = rng.Pick(new[] { "Conv", "Relu", "Gemm", "Flatten", "Loop", "If", "Foo", "", "Reshape", "Resize", "GlobalAveragePool" });
                fields.RemoveAll(f => f.Number == 4);
                fields.Add(Text(4, type));
                detail = $"node {op} -> op_type '{type}'";
                break;
            }
            case 1:
            {
                var attributes = fields.Where(f => f.Number == 5 && f.Message is not null).ToList();
                var ints = attributes.SelectMany(a => a.Message!.Where(f => f.Number is 3 or 8 && f.WireType == 0)).ToList();
                if (ints.Count == 0) goto case 0;
                var field = rng.Pick(ints);
                var value = rng.Pick(Interesting.Integers);
                field.Varint = Varint(value);
                detail = $"node {op}: an integer attribute := {value}";
                break;
            }
            case 2:
            {
                // Feed a node its own output (a cycle) or a name nothing produces.
                var output = fields.FirstOrDefault(f => f.Number == 2);
                var input = fields.FirstOrDefault(f => f.Number == 1);
                if (input is null) goto case 0;
                input.Message = null;
                input.Bytes = rng.Chance(0.5) && output is not null ? output.Bytes : Encoding.UTF8.GetBytes("nowhere");
                detail = $"node {op}: first input := '{Encoding.UTF8.GetString(input.Bytes)}'";
                break;
            }
            default:
                if (rng.Chance(0.5)) { model.First(f => f.Number == ModelGraph).Message!.Remove(node); detail = $"node {op} removed"; }
                else { model.First(f => f.Number == ModelGraph).Message!.Add(node.Clone()); detail = $"node {op} duplicated"; }
                break;
        }
        return Make(seed, model, "nodes", detail);
    }

    private Mutant Generic(Random rng)
    {
        var (seed, model) = Copy(rng);
        var (field, owner) = rng.Pick(Protobuf.All(model));
        string detail;
        switch (rng.Next(5))
        {
            case 0 when field.WireType == 0:
                var value = Interesting.Any(rng, field.Varint);
                field.Varint = Varint(value);
                detail = $"field {field.Number} varint := {value}";
                break;
            case 1 when field.WireType == 2 && field.Message is null:
                var text = rng.Pick(Interesting.Strings);
                field.Bytes = Encoding.UTF8.GetBytes(text);
                detail = $"field {field.Number} string := '{Shorten(text)}'";
                break;
            case 2:
                owner.Remove(field);
                detail = $"field {field.Number} removed";
                break;
            case 3:
                owner.Insert(owner.IndexOf(field), field.Clone());
                detail = $"field {field.Number} repeated";
                break;
            default:
                if (field.WireType != 2) goto case 2;
                field.ClaimedLength = rng.Pick(new ulong[] { 0, 1, (ulong)field.Bytes.Length + 1, 0x7fffffff, 0xffffffff, ulong.MaxValue >> 1 });
                detail = $"field {field.Number} length prefix claims {field.ClaimedLength}";
                break;
        }
        return Make(seed, model, "protobuf", detail);
    }

    private Mutant Opset(Random rng)
    {
        var (seed, model) = Copy(rng);
        string detail;
        if (rng.Chance(0.5))
        {
            var version = Protobuf.Find(model, ModelOpset, 2).First();
            version.Varint = rng.Pick(new ulong[] { 0, 1, 7, 10, 22, 99, 0x80000000 });
            detail = $"opset := {version.Varint}";
        }
        else
        {
            var ir = model.First(f => f.Number == ModelIrVersion);
            ir.Varint = rng.Pick(new ulong[] { 0, 1, 3, 11, 100 });
            detail = $"ir_version := {ir.Varint}";
        }
        return Make(seed, model, "opset", detail);
    }

    private Mutant Havoc(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = rng.Chance(0.8) ? Bytes.Havoc(rng, seed.File) : Bytes.Truncate(seed.File, rng);
        return new Mutant(data, ".onnx", "bytes", $"seed {seed.Name}: {detail}");
    }

    private static string Shorten(string s) => s.Length > 24 ? s[..12] + $"...({s.Length} chars)" : s;
}
