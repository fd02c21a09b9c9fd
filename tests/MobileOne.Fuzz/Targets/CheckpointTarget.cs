using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MobileOne.Checkpoints;
using MobileOne.Fuzz.Mutation;
using MobileOne.Models;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// <c>MobileOneCheckpoint.Load</c> on torch.save zip archives (<c>pth</c>) or safetensors files: detection,
/// the restricted unpickler or the JSON header, layout conversion, architecture inference and the model build.
/// </summary>
public sealed class CheckpointTarget(CheckpointFormat format) : FuzzTarget
{
    private sealed record Seed(string Name, byte[] File, StateDict State, List<(string Name, byte[] Data)> Entries, byte[] Pickle, JsonNode? Header, byte[] Data);

    private List<Seed> seeds = [];
    private readonly Dictionary<Seed, byte[]> padded = [];

    /// <inheritdoc/>
    public override string Name => format == CheckpointFormat.Pth ? "pth" : "safetensors";

    private string Extension => format == CheckpointFormat.Pth ? ".pth" : ".safetensors";

    /// <inheritdoc/>
    public override void Run(string path) => MobileOneCheckpoint.Load(path).Model.Dispose();

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        seeds = [];
        foreach (var config in new[] { SeedFactory.Tiny, SeedFactory.TinySe })
            foreach (var fused in new[] { false, true })
                foreach (var layout in Enum.GetValues<CheckpointLayout>())
                    seeds.Add(MakeSeed(factory, config, fused, layout));
        List<Strategy> common =
        [
            new("bytes", 3, rng => Havoc(rng)),
            new("state-dict", 4, rng => StateDictMutant(rng)),
        ];
        var seedFiles = seeds.Select(s => new Mutant(s.File, Extension, "seed", $"seed {s.Name}")).ToList();
        if (format == CheckpointFormat.Pth)
            return new FuzzPlan(seedFiles,
            [
                .. common,
                new("pickle", 7, PickleMutant),
                new("self-reference", 0.4, SelfReference),
                new("deep-nesting", 0.3, DeepNesting),
                new("zip-fields", 2, ZipFields),
                new("zip-size-claim", 1, ZipSizeClaim),
                new("zip-bomb-claim", 0.3, ZipBombClaim),
                new("zip-records", 1, ZipRecords),
            ]);
        return new FuzzPlan(seedFiles,
        [
            .. common,
            new("header-json", 7, HeaderJson),
            new("header-length", 1.5, HeaderLength),
            new("data-size", 1, DataSize),
        ]);
    }

    private Seed MakeSeed(SeedFactory factory, MobileOneConfig config, bool fused, CheckpointLayout layout)
    {
        var name = $"{(config.UseSe ? "tiny-se" : "tiny")}-{(fused ? "fused" : "train")}-{layout.ToString().ToLowerInvariant()}";
        var bytes = factory.Checkpoint(config, fused, layout, format);
        var path = Path.Combine(factory.Directory, "read" + Extension);
        File.WriteAllBytes(path, bytes);
        var state = CheckpointFile.Read(path);
        File.Delete(path);
        if (format == CheckpointFormat.Pth)
        {
            var entries = ZipEntries.Read(bytes);
            return new Seed(name, bytes, state, entries, entries.Single(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal)).Data, null, []);
        }
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength))!;
        return new Seed(name, bytes, state, [], [], header, bytes[(8 + (int)headerLength)..]);
    }

    private Mutant Make(byte[] data, string strategy, Seed seed, string detail) => new(data, Extension, strategy, $"seed {seed.Name}: {detail}");

    private Mutant Havoc(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = Bytes.Havoc(rng, seed.File);
        return Make(data, "bytes", seed, detail);
    }

    private Mutant StateDictMutant(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (state, detail) = StateDictMutator.Mutate(rng, seed.State);
        var s = new MemoryStream();
        if (format == CheckpointFormat.Pth) TorchCheckpointFormat.Write(s, state);
        else SafetensorsFormat.Write(s, state);
        return Make(s.ToArray(), "state-dict", seed, detail);
    }

    // ---- torch.save zip archives ----

    private byte[] Rebuild(Random rng, Seed seed, byte[] pickle, IEnumerable<(string Name, byte[] Data)>? entries = null)
    {
        bool deflateAll = rng.Chance(0.3), deflatePickle = rng.Chance(0.3);
        var list = (entries ?? seed.Entries).Select(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) ? (e.Name, pickle) : e);
        return ZipEntries.Build(list, n => deflateAll || (deflatePickle && n.EndsWith("/data.pkl", StringComparison.Ordinal)));
    }

    private Mutant PickleMutant(Random rng)
    {
        var seed = rng.Pick(seeds);
        var pickle = seed.Pickle;
        var notes = new List<string>();
        string? expected = null;
        int rounds = rng.Chance(0.2) ? rng.Next(2, 4) : 1;
        for (int i = 0; i < rounds; i++)
        {
            var (next, detail, must) = PickleMutator.Mutate(rng, pickle);
            pickle = next;
            notes.Add(detail);
            // Only a single mutation has a known right answer (a later one may damage the file first).
            if (rounds == 1) expected = must;
        }
        return Make(Rebuild(rng, seed, pickle), "pickle", seed, string.Join("; then ", notes)) with { ExpectedRefusal = expected };
    }

    private static byte[] PickleArchive(byte[] pickle, bool deflate) =>
        ZipEntries.Build([("archive/data.pkl", pickle), ("archive/version", "3\n"u8.ToArray())], _ => deflate);

    private Mutant SelfReference(Random rng)
    {
        var (pickle, detail) = PickleMutator.SelfReference(rng);
        return new Mutant(PickleArchive(pickle, rng.Chance(0.5)), Extension, "self-reference", detail);
    }

    private static readonly Dictionary<(int, string), byte[]> NestingCache = [];

    private Mutant DeepNesting(Random rng)
    {
        int depth = rng.Pick(new[] { 1_000, 100_000, 100_000, 1_000_000 });
        var key = rng.Pick(new[] { "state_dict", "model", "module", "state_dict_ema" });
        byte[] pickle;
        lock (NestingCache)
        {
            if (!NestingCache.TryGetValue((depth, key), out pickle!))
                NestingCache[(depth, key)] = pickle = PickleMutator.DeepNesting(depth, key);
        }
        return new Mutant(PickleArchive(pickle, deflate: true), Extension, "deep-nesting", $"{depth:N0} dicts nested under '{key}'");
    }

    private Mutant ZipFields(Random rng)
    {
        var seed = rng.Pick(seeds);
        var zip = rng.Chance(0.5) ? seed.File : Rebuild(rng, seed, seed.Pickle);
        var layout = ZipLayout.Parse(zip)!;
        var field = rng.Pick(layout.Fields());
        uint value = rng.Chance(0.7) ? rng.Pick(Interesting.UInt32s) : (uint)rng.Next(0, 4096);
        return Make(ZipLayout.Patch(zip, field, value), "zip-fields", seed, $"{field.Name} := {value}");
    }

    private Mutant ZipSizeClaim(Random rng)
    {
        var seed = rng.Pick(seeds);
        var zip = Rebuild(rng, seed, seed.Pickle);
        var layout = ZipLayout.Parse(zip)!;
        var entry = rng.Chance(0.5) ? layout.Entries.First(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal)) : rng.Pick(layout.Entries);
        ulong c = Math.Max(entry.CompressedSize, 1u);
        uint size = (uint)Math.Min(uint.MaxValue, rng.Pick(new ulong[] { 0, 1, c - 1, c + 1, c * 1099, c * 1100, c * 1101, 0x7fffffc7, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff }));
        return Make(ZipLayout.ClaimSize(zip, entry, size), "zip-size-claim", seed, $"record '{entry.Name}' ({entry.CompressedSize:N0} bytes stored) claims {size:N0} uncompressed");
    }

    // A pickle padded with ~1.9 MB of incompressible bytes (pushed, then popped), deflated, whose record then
    // claims ~1,100 times its compressed size: up to 2 GB, below what the format can express.
    private Mutant ZipBombClaim(Random rng)
    {
        var seed = rng.Pick(seeds);
        byte[] zip;
        lock (padded)
        {
            if (!padded.TryGetValue(seed, out zip!))
            {
                var pad = new byte[1_900_000];
                new Random(1).NextBytes(pad);
                var (ops, tail) = Pickle.Parse(seed.Pickle);
                ops.InsertRange(1, [new PickleOp((byte)'B', [.. BitConverter.GetBytes(pad.Length), .. pad]), Pickle.Op('0')]);
                padded[seed] = zip = ZipEntries.Build(seed.Entries.Select(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) ? (e.Name, Pickle.Join(ops, tail)) : e), _ => true);
            }
        }
        var entry = ZipLayout.Parse(zip)!.Entries.First(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        ulong factor = (ulong)rng.Pick(new[] { 1000, 1099, 1100 });
        uint size = (uint)Math.Min(0x7fffffc7UL, entry.CompressedSize * factor);
        return Make(ZipLayout.ClaimSize(zip, entry, size), "zip-bomb-claim", seed, $"data.pkl ({entry.CompressedSize:N0} bytes deflated) claims {size:N0} bytes ({factor}x)");
    }

    private Mutant ZipRecords(Random rng)
    {
        var seed = rng.Pick(seeds);
        var entries = seed.Entries.ToList();
        string detail;
        int i = rng.Next(entries.Count);
        switch (rng.Next(5))
        {
            case 0:
                detail = $"record '{entries[i].Name}' removed";
                entries.RemoveAt(i);
                break;
            case 1:
                detail = $"record '{entries[i].Name}' duplicated";
                entries.Insert(i, entries[i]);
                break;
            case 2:
                var name = rng.Pick(new[] { "other/data.pkl", "archive/data/../data.pkl", "/archive/data.pkl", "archive/data/0", "archive\\data.pkl", "archive/data.pkl\0" });
                detail = $"record '{entries[i].Name}' renamed '{name}'";
                entries[i] = (name, entries[i].Data);
                break;
            case 3:
                var pickle = entries.First(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
                entries.Add(("second/data.pkl", pickle.Data));
                detail = "a second PREFIX/data.pkl added";
                break;
            default:
                int j = rng.Next(entries.Count);
                (entries[i], entries[j]) = ((entries[i].Name, entries[j].Data), (entries[j].Name, entries[i].Data));
                detail = $"contents of '{entries[i].Name}' and '{entries[j].Name}' swapped";
                break;
        }
        return Make(Rebuild(rng, seed, seed.Pickle, entries), "zip-records", seed, detail);
    }

    // ---- safetensors ----

    private static byte[] Safetensors(byte[] header, byte[] data, ulong? claimedLength = null)
    {
        var s = new MemoryStream();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, claimedLength ?? (ulong)header.Length);
        s.Write(length);
        s.Write(header);
        s.Write(data);
        return s.ToArray();
    }

    private Mutant HeaderJson(Random rng)
    {
        var seed = rng.Pick(seeds);
        var surgery = new JsonSurgery(seed.Header!);
        var root = (JsonObject)surgery.Root;
        var names = root.Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
        var name = rng.Pick(names);
        var entry = (JsonObject)root[name]!;
        string detail = rng.Next(9) switch
        {
            0 => Field(rng, surgery, entry, "dtype", () => JsonValue.Create(rng.Pick(new[] { "F8_E4M3", "I128", "", "f32", "F32 ", "U64", "C64", "BOOL" }))),
            1 => ShapeElement(rng, surgery, entry),
            2 => Field(rng, surgery, entry, "shape", () => JsonNode.Parse(rng.Pick(new[]
                { "[]", "[4611686018427387904,4]", "[4294967296,4294967296]", "[-1]", "[0]", "[1.5]", "[\"3\"]", "[null]", "[2147483648,2147483648]",
                  "[" + string.Join(",", Enumerable.Repeat(1, 1000)) + "]", "[1e30]" }))),
            3 => Field(rng, surgery, entry, "data_offsets", () => JsonNode.Parse(rng.Pick(new[]
                { "[0]", "[0,0,0]", "[-8,0]", "[0,9223372036854775807]", "[9223372036854775800,9223372036854775807]", "[1.5,2]", "[\"0\",\"4\"]", "[]", "null" }))),
            4 => Duplicate(rng, surgery, root, name, names),
            5 => RenameKey(rng, surgery, root, name),
            6 => RemoveOrAdd(rng, entry),
            7 => Metadata(rng, surgery, root),
            _ => AnyNode(rng, surgery),
        };
        var header = surgery.Serialize();
        return Make(Safetensors(header, seed.Data), "header-json", seed, $"'{name}': {detail}");
    }

    private static string Field(Random rng, JsonSurgery surgery, JsonObject entry, string field, Func<JsonNode?> value)
    {
        if (rng.Chance(0.3))
        {
            var (raw, what) = JsonSurgery.RandomRaw(rng);
            entry[field] = surgery.Placeholder(raw);
            return $"{field} := {what}";
        }
        var v = value();
        entry[field] = v;
        var text = v?.ToJsonString() ?? "null";
        return $"{field} := {(text.Length > 40 ? text[..20] + "..." : text)}";
    }

    private static string ShapeElement(Random rng, JsonSurgery surgery, JsonObject entry)
    {
        if (entry["shape"] is not JsonArray { Count: > 0 } shape) return Field(rng, surgery, entry, "shape", () => JsonNode.Parse("[65536]"));
        int i = rng.Next(shape.Count);
        var (raw, what) = JsonSurgery.RandomRaw(rng);
        shape[i] = surgery.Placeholder(raw);
        return $"shape[{i}] := {what}";
    }

    private static string Duplicate(Random rng, JsonSurgery surgery, JsonObject root, string name, List<string> names)
    {
        var other = rng.Pick(names);
        surgery.Duplicate(root, name, root[other]!.DeepClone());
        return $"duplicate key '{name}' (second value: that of '{other}')";
    }

    private static string RenameKey(Random rng, JsonSurgery surgery, JsonObject root, string name)
    {
        byte[] raw = rng.Next(4) switch
        {
            0 => [(byte)'"', .. Encoding.UTF8.GetBytes(name), 0xff, 0xfe, (byte)'"'],
            1 => [(byte)'"', 0xc0, 0xae, .. Encoding.UTF8.GetBytes(name), (byte)'"'],
            2 => Encoding.UTF8.GetBytes("\"\\ud800" + name + "\""),
            _ => Encoding.UTF8.GetBytes("\"" + rng.Pick(new[] { "", "__metadata__", "module." + name, name + "\\u0000" }) + "\""),
        };
        surgery.RenameRaw(root, name, raw);
        return $"key renamed to bytes {Convert.ToHexString(raw.AsSpan(0, Math.Min(raw.Length, 24)))}";
    }

    private static string RemoveOrAdd(Random rng, JsonObject entry)
    {
        if (rng.Chance(0.5))
        {
            var field = rng.Pick(new[] { "dtype", "shape", "data_offsets" });
            entry.Remove(field);
            return $"field '{field}' removed";
        }
        entry["extra"] = new JsonObject { ["x"] = 1 };
        return "unknown field 'extra' added";
    }

    private static string Metadata(Random rng, JsonSurgery surgery, JsonObject root)
    {
        var (raw, what) = JsonSurgery.RandomRaw(rng);
        if (rng.Chance(0.5) && root["__metadata__"] is JsonObject meta)
        {
            meta["format"] = surgery.Placeholder(raw);
            return $"__metadata__.format := {what}";
        }
        root["__metadata__"] = surgery.Placeholder(raw);
        return $"__metadata__ := {what}";
    }

    private static string AnyNode(Random rng, JsonSurgery surgery)
    {
        var (path, _, parent, property, index) = rng.Pick(surgery.Nodes());
        var (raw, what) = JsonSurgery.RandomRaw(rng);
        JsonSurgery.Replace(parent, property, index, surgery.Placeholder(raw));
        return $"{path} := {what}";
    }

    private Mutant HeaderLength(Random rng)
    {
        var seed = rng.Pick(seeds);
        var header = HeaderBytes(seed);
        ulong claimed = rng.Next(3) switch
        {
            0 => (ulong)(header.Length + rng.Next(-8, 9)),
            1 => (ulong)rng.Pick(new long[] { 0, 1, 2, 7, 8, 100 << 20, (100 << 20) + 1, seed.File.Length, seed.File.Length - 8 }),
            _ => unchecked((ulong)rng.Pick(Interesting.Longs)),
        };
        return Make(Safetensors(header, seed.Data, claimed), "header-length", seed, $"header length field {claimed} (true length {header.Length})");
    }

    private static byte[] HeaderBytes(Seed seed) => Encoding.UTF8.GetBytes(seed.Header!.ToJsonString());

    private Mutant DataSize(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = Bytes.ResizeTail(seed.Data, rng);
        return Make(Safetensors(HeaderBytes(seed), data), "data-size", seed, $"data section {detail}");
    }
}
