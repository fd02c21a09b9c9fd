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

    /// <summary>Reads all tensors, checking every declared range against the file before reading it.</summary>
    public static StateDict Read(string path)
    {
        using var file = File.OpenRead(path);
        long length = file.Length;
        Span<byte> head = stackalloc byte[8];
        if (file.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8)
            throw new CheckpointException($"{path}: truncated safetensors file (no header)");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLen > MaxHeader || (long)headerLen > length - 8)
            throw new CheckpointException($"{path}: corrupt safetensors file: header of {headerLen:N0} bytes in a {length:N0}-byte file");
        var headerBytes = new byte[headerLen];
        file.ReadExactly(headerBytes);
        JsonObject header;
        try { header = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new JsonException("empty header"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new CheckpointException($"{path}: corrupt safetensors header ({e.Message})");
        }
        long dataStart = 8 + (long)headerLen, dataLength = length - dataStart;
        var entries = new List<(string Name, TensorDType DType, long[] Shape, long Begin, long End)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            try
            {
                var o = node!.AsObject();
                var dtypeName = (string)o["dtype"]!;
                var dtype = TensorDTypes.FromSafetensors(dtypeName)
                    ?? throw new CheckpointException($"{path}: tensor '{name}' has unsupported dtype {dtypeName}");
                var shape = o["shape"]!.AsArray().Select(x => (long)x!).ToArray();
                var offsets = o["data_offsets"]!.AsArray().Select(x => (long)x!).ToArray();
                if (offsets.Length != 2) throw new FormatException("data_offsets must have two entries");
                entries.Add((name, dtype, shape, offsets[0], offsets[1]));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
            {
                throw new CheckpointException($"{path}: corrupt safetensors header entry '{name}' ({e.Message})");
            }
        }
        var result = new StateDict();
        foreach (var (name, dtype, shape, begin, end) in entries)
        {
            long bytes;
            try { bytes = checked(CheckpointTensor.ElementCount(shape) * dtype.Size()); }
            catch (Exception e) when (e is OverflowException or ArgumentException)
            {
                throw new CheckpointException($"{path}: tensor '{name}' claims an impossible shape {CheckpointTensor.FormatShape(shape)}");
            }
            if (begin < 0 || end < begin || end - begin != bytes)
                throw new CheckpointException($"{path}: tensor '{name}' ({dtype.DisplayName()} {CheckpointTensor.FormatShape(shape)}, {bytes:N0} bytes) has byte range [{begin}, {end})");
            if (end > dataLength)
                throw new CheckpointException($"{path}: tensor '{name}' needs bytes up to {end:N0} but the file holds {dataLength:N0} data bytes (truncated?)");
            var data = new byte[bytes];
            file.Seek(dataStart + begin, SeekOrigin.Begin);
            file.ReadExactly(data);
            result.Add(name, new CheckpointTensor(dtype, shape, data));
        }
        return result;
    }

    /// <summary>The string metadata of a file (<c>__metadata__</c>), empty when there is none.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[8];
        if (file.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8) throw new CheckpointException($"{path}: truncated safetensors file (no header)");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLen > MaxHeader || (long)headerLen > file.Length - 8)
            throw new CheckpointException($"{path}: corrupt safetensors file: header of {headerLen:N0} bytes in a {file.Length:N0}-byte file");
        var bytes = new byte[headerLen];
        file.ReadExactly(bytes);
        try
        {
            var meta = JsonNode.Parse(bytes)?["__metadata__"]?.AsObject();
            return meta?.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "") ?? new Dictionary<string, string>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: corrupt safetensors header ({e.Message})");
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
