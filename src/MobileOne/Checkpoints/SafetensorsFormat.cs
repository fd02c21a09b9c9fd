using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MobileOne.Checkpoints;

/// <summary>
/// The safetensors format (timm's published weights): an 8-byte little-endian header length, a JSON
/// header mapping names to dtype, shape and byte range, then the raw data. No code runs on load.
/// </summary>
public static class SafetensorsFormat
{
    private const long MaxHeader = 100 << 20;

    // The header is small JSON: one object of tensor entries, each an object of flat values.
    private static readonly JsonDocumentOptions HeaderJson = new() { MaxDepth = 8 };

    private sealed record Entry(string Name, TensorDType DType, long[] Shape, long Begin, long End);

    /// <summary>Reads all tensors, checking every declared range against the file before reading it.</summary>
    public static StateDict Read(string path)
    {
        using var file = File.OpenRead(path);
        using var header = ReadHeader(file, path);
        long dataStart = file.Position, dataLength = file.Length - dataStart;
        var entries = new List<Entry>();
        foreach (var p in header.RootElement.EnumerateObject())
            if (p.Name != "__metadata__") entries.Add(ParseEntry(p, path));
        CheckRanges(entries, dataLength, path);
        var result = new StateDict();
        foreach (var e in entries)
        {
            var data = new byte[e.End - e.Begin];
            file.Seek(dataStart + e.Begin, SeekOrigin.Begin);
            file.ReadExactly(data);
            result.Add(e.Name, new CheckpointTensor(e.DType, e.Shape, data));
        }
        return result;
    }

    /// <summary>The string metadata of a file (<c>__metadata__</c>), empty when there is none.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenRead(path);
        using var header = ReadHeader(file, path);
        var result = new Dictionary<string, string>();
        if (!header.RootElement.TryGetProperty("__metadata__", out var meta)) return result;
        if (meta.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: corrupt safetensors header ('__metadata__' is not an object)");
        foreach (var p in meta.EnumerateObject())
            result[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
                : throw new CheckpointException($"{path}: corrupt safetensors header (metadata '{p.Name}' is not a string)");
        return result;
    }

    /// <summary>Reads and parses the JSON header, leaving the stream at the start of the data.</summary>
    private static JsonDocument ReadHeader(FileStream file, string path)
    {
        Span<byte> head = stackalloc byte[8];
        if (file.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8)
            throw new CheckpointException($"{path}: truncated safetensors file (no header)");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLen > MaxHeader || (long)headerLen > file.Length - 8)
            throw new CheckpointException($"{path}: corrupt safetensors file: header of {headerLen:N0} bytes in a {file.Length:N0}-byte file");
        var bytes = new byte[headerLen];
        file.ReadExactly(bytes);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, HeaderJson); }
        catch (JsonException e) { throw new CheckpointException($"{path}: corrupt safetensors header ({e.Message})"); }
        try
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{path}: corrupt safetensors header (a JSON {doc.RootElement.ValueKind}, not an object)");
            CheckNames(doc.RootElement, path);
            if (doc.RootElement.TryGetProperty("__metadata__", out var meta) && meta.ValueKind == JsonValueKind.Object)
                CheckNames(meta, path);
            return doc;
        }
        catch
        {
            doc.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Names must be unique and valid UTF-8, as must string values: the parser defers both checks to the
    /// first read of a string, which would otherwise fail far from here with an InvalidOperationException.
    /// </summary>
    private static void CheckNames(JsonElement obj, string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (!names.Add(p.Name))
                    throw new CheckpointException($"{path}: corrupt safetensors header (the name '{IO.MessageText.Shorten(p.Name)}' appears twice)");
                if (p.Value.ValueKind == JsonValueKind.String) _ = p.Value.GetString();
            }
        }
        catch (InvalidOperationException e)
        {
            throw new CheckpointException($"{path}: corrupt safetensors header (a string that is not valid UTF-8: {e.Message})");
        }
    }

    private static Entry ParseEntry(JsonProperty p, string path)
    {
        CheckpointException Bad(string what) => new($"{path}: corrupt safetensors header entry '{p.Name}' ({what})");
        var o = p.Value;
        if (o.ValueKind != JsonValueKind.Object) throw Bad($"a JSON {o.ValueKind}, not an object");
        if (!o.TryGetProperty("dtype", out var dtypeNode) || dtypeNode.ValueKind != JsonValueKind.String) throw Bad("no dtype string");
        var dtype = TensorDTypes.FromSafetensors(dtypeNode.GetString()!)
            ?? throw new CheckpointException($"{path}: tensor '{p.Name}' has unsupported dtype {dtypeNode.GetString()}");
        long[] Longs(string key) => o.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var v) && v >= 0 ? v
                : throw Bad($"'{key}' holds {x.GetRawText()}, not a non-negative integer")).ToArray()
            : throw Bad($"no '{key}' array");
        var shape = Longs("shape");
        var offsets = Longs("data_offsets");
        if (offsets.Length != 2) throw Bad("data_offsets must have two entries");
        long bytes;
        try { bytes = checked(CheckpointTensor.ElementCount(shape) * dtype.Size()); }
        catch (OverflowException) { throw new CheckpointException($"{path}: tensor '{p.Name}' claims an impossible shape {CheckpointTensor.FormatShape(shape)}"); }
        if (offsets[1] < offsets[0] || offsets[1] - offsets[0] != bytes)
            throw new CheckpointException($"{path}: tensor '{p.Name}' ({dtype.DisplayName()} {CheckpointTensor.FormatShape(shape)}, {bytes:N0} bytes) has byte range [{offsets[0]}, {offsets[1]})");
        return new Entry(p.Name, dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>The ranges must lie in the file and not overlap, so the tensors together hold no more than the file.</summary>
    private static void CheckRanges(List<Entry> entries, long dataLength, string path)
    {
        Entry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.End > dataLength)
                throw new CheckpointException($"{path}: tensor '{e.Name}' needs bytes up to {e.End:N0} but the file holds {dataLength:N0} data bytes (truncated?)");
            if (previous is not null && e.Begin < previous.End)
                throw new CheckpointException($"{path}: tensors '{previous.Name}' and '{e.Name}' overlap in the file (byte ranges [{previous.Begin}, {previous.End}) and [{e.Begin}, {e.End}))");
            ResourceLimits.Current.CheckTensorBytes(e.End - e.Begin, $"{path}: tensor '{e.Name}'");
            previous = e;
        }
    }

    /// <summary>Writes the tensors in order, with <c>{"format": "pt"}</c> metadata as timm's files carry, plus <paramref name="metadata"/>.</summary>
    public static void Write(Stream stream, StateDict state, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var meta = new JsonObject { ["format"] = "pt" };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) meta[k] = v;
        var header = new JsonObject { ["__metadata__"] = meta };
        long offset = 0;
        foreach (var (name, t) in state)
        {
            header[name] = new JsonObject
            {
                ["dtype"] = t.DType.ToSafetensors(),
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Data.LongLength),
            };
            offset += t.Data.LongLength;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var t in state.Values) stream.Write(t.Data);
    }
}
