using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MobileOne.IO;

namespace MobileOne.Checkpoints;

/// <summary>
/// PyTorch's <c>torch.save</c> zip format (PyTorch 1.6 and later; <c>.pth</c>, <c>.pth.tar</c>, <c>.pt</c>):
/// <c>PREFIX/data.pkl</c> (the pickled object) and one raw record per storage under <c>PREFIX/data/</c>.
/// Reading goes through <see cref="RestrictedUnpickler"/> and checks every claimed size against the
/// archive before allocating; writing produces what <c>torch.load(..., weights_only=True)</c> accepts.
/// </summary>
public static class TorchCheckpointFormat
{
    /// <summary>Reads the tensor state dict of a checkpoint (nested under <c>state_dict</c>/<c>model</c> if so).</summary>
    public static StateDict Read(string path)
    {
        using var file = File.OpenRead(path);
        try
        {
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            return Read(zip, path, file.Length);
        }
        catch (InvalidDataException e)
        {
            // The archive's directory is parsed lazily: damage can surface at any entry, not only in the constructor.
            throw new CheckpointException($"{path}: truncated or corrupt checkpoint (the zip archive cannot be read: {e.Message})");
        }
    }

    private static StateDict Read(ZipArchive zip, string path, long fileLength)
    {
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (pickles.Count != 1)
            throw new CheckpointException($"{path}: not a torch.save archive (expected one PREFIX/data.pkl record, found {pickles.Count})");
        var prefix = pickles[0].FullName[..^"data.pkl".Length];
        if (pickles[0].Length > RestrictedUnpickler.MaxPickleBytes)
            throw new CheckpointException($"{path}: record '{pickles[0].FullName}' claims {pickles[0].Length:N0} bytes, more than the {RestrictedUnpickler.MaxPickleBytes:N0} any state dict's pickle needs");
        var root = RestrictedUnpickler.Load(ReadEntry(pickles[0], path, fileLength), path);
        var storages = new Dictionary<string, StorageUse>();
        var views = new Dictionary<ViewKey, CheckpointTensor>();
        var result = new StateDict();
        foreach (var (name, tref) in FindStateDict(root, path))
        {
            if (!storages.TryGetValue(tref.Storage.Key, out var storage))
            {
                var entry = zip.GetEntry(prefix + "data/" + tref.Storage.Key)
                    ?? throw new CheckpointException($"{path}: tensor '{name}' refers to storage record 'data/{tref.Storage.Key}', which the archive lacks (truncated file?)");
                long claimed = SafeBytes(tref.Storage.NumElements, tref.Storage.DType, path, name);
                if (entry.Length != claimed)
                    throw new CheckpointException(
                        $"{path}: tensor '{name}' claims a storage of {tref.Storage.NumElements:N0} {tref.Storage.DType.DisplayName()} elements " +
                        $"({claimed:N0} bytes) but record 'data/{tref.Storage.Key}' holds {entry.Length:N0} bytes; refusing it");
                storage = new StorageUse(tref.Storage, ReadEntry(entry, path, fileLength));
                storages[tref.Storage.Key] = storage;
            }
            else if (storage.Ref.DType != tref.Storage.DType || storage.Ref.NumElements != tref.Storage.NumElements)
            {
                throw new CheckpointException($"{path}: tensor '{name}' describes storage 'data/{tref.Storage.Key}' differently from an earlier tensor");
            }
            // Tied weights alias one view; distinct views of a storage are disjoint in any real state dict,
            // so together they hold no more elements than the storage (which bounds what is allocated).
            var key = new ViewKey(tref.Storage.Key, tref.Offset, string.Join(',', tref.Shape), string.Join(',', tref.Stride));
            if (!views.TryGetValue(key, out var tensor))
            {
                tensor = View(tref, storage, path, name);
                views[key] = tensor;
            }
            result.Add(name, tensor);
        }
        return result;
    }

    private sealed class StorageUse(RestrictedUnpickler.StorageRef storageRef, byte[] bytes)
    {
        public RestrictedUnpickler.StorageRef Ref { get; } = storageRef;
        public byte[] Bytes { get; } = bytes;
        public long ElementsViewed { get; set; }
    }

    private sealed record ViewKey(string Storage, long Offset, string Shape, string Stride);

    private static long SafeBytes(long numel, TensorDType dtype, string path, string name)
    {
        try { return checked(numel * dtype.Size()); }
        catch (OverflowException) { throw new CheckpointException($"{path}: tensor '{name}' claims an impossible size ({numel} elements)"); }
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string path, long fileLength)
    {
        // Sizes come from the archive's directory, which a hostile or damaged file controls: check them
        // against the file and the limits, then let the buffer grow only as data actually arrive.
        if (entry.CompressedLength > fileLength || entry.Length > Math.Max(entry.CompressedLength, 1) * 1100L)
            throw new CheckpointException($"{path}: record '{entry.FullName}' claims {entry.Length:N0} bytes, more than the {fileLength:N0}-byte file can hold");
        ResourceLimits.Current.CheckTensorBytes(entry.Length, $"{path}: record '{entry.FullName}'");
        byte[] buffer;
        try
        {
            using var s = entry.Open();
            buffer = BoundedRead.UpTo(s, (int)entry.Length);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"{path}: record '{entry.FullName}' is corrupt ({e.Message})");
        }
        if (buffer.Length != entry.Length)
            throw new CheckpointException($"{path}: record '{entry.FullName}' is truncated ({buffer.Length:N0} of {entry.Length:N0} bytes)");
        if (Crc32.Compute(buffer) != entry.Crc32)
            throw new CheckpointException($"{path}: record '{entry.FullName}' is corrupt (CRC mismatch)");
        return buffer;
    }

    // The weights sit at the top level or one or two levels down (timm: state_dict, others: model); a
    // deeper chain is no checkpoint, and a dict that contains itself must not recurse forever.
    private const int MaxNesting = 4;

    private static List<(string Name, RestrictedUnpickler.TensorRef Tensor)> FindStateDict(object? root, string path)
    {
        if (root is not OrderedDictionary<object, object?> dict)
            throw new CheckpointException($"{path}: the checkpoint holds a {root?.GetType().Name ?? "None"}, not a state dict");
        for (int depth = 0; !dict.Values.Any(v => v is RestrictedUnpickler.TensorRef); depth++)
        {
            var inner = depth < MaxNesting ? NestedStateDict(dict) : null;
            if (inner is null || ReferenceEquals(inner, dict))
                throw new CheckpointException($"{path}: no tensors found at the top level, nor under 'state_dict' or 'model' " +
                                              $"(keys: {string.Join(", ", dict.Keys.Take(10).Select(k => Shorten(k.ToString())))})");
            dict = inner;
        }
        var list = new List<(string, RestrictedUnpickler.TensorRef)>();
        foreach (var (k, v) in dict)
        {
            if (k is not string name)
                throw new CheckpointException($"{path}: state dict key {Shorten(k.ToString())} is not a string");
            if (v is RestrictedUnpickler.TensorRef t) list.Add((name, t));
            else throw new CheckpointException($"{path}: state dict entry '{Shorten(name)}' is not a tensor");
        }
        return list;
    }

    private static OrderedDictionary<object, object?>? NestedStateDict(OrderedDictionary<object, object?> dict)
    {
        foreach (var key in new[] { "state_dict", "model", "module", "state_dict_ema" })
            if (dict.TryGetValue(key, out var inner) && inner is OrderedDictionary<object, object?> d)
                return d;
        return null;
    }

    private static string Shorten(string? s) => s is null ? "None" : MessageText.Shorten(s);

    private static CheckpointTensor View(RestrictedUnpickler.TensorRef t, StorageUse storage, string path, string name)
    {
        int size = t.Storage.DType.Size();
        long storageNumel = t.Storage.NumElements;
        if (t.Shape.Length != t.Stride.Length || t.Shape.Any(d => d < 0) || t.Stride.Any(s => s < 0) || t.Offset < 0 || t.Offset > storageNumel)
            throw new CheckpointException($"{path}: tensor '{name}' has an invalid view (shape {CheckpointTensor.FormatShape(t.Shape)}, " +
                                          $"stride {CheckpointTensor.FormatShape(t.Stride)}, offset {t.Offset}) of a storage of {storageNumel:N0} elements");
        long numel, last;
        try
        {
            numel = CheckpointTensor.ElementCount(t.Shape);
            last = t.Offset;
            if (numel > 0)
                for (int i = 0; i < t.Shape.Length; i++) last = checked(last + (t.Shape[i] - 1) * t.Stride[i]);
        }
        catch (OverflowException) { throw new CheckpointException($"{path}: tensor '{name}' claims an impossible view: shape {CheckpointTensor.FormatShape(t.Shape)}, stride {CheckpointTensor.FormatShape(t.Stride)}"); }
        if (numel > 0 && last >= storageNumel)
            throw new CheckpointException($"{path}: tensor '{name}' of shape {CheckpointTensor.FormatShape(t.Shape)} reaches past its storage of {storageNumel:N0} elements");
        storage.ElementsViewed += numel;
        if (storage.ElementsViewed > storageNumel)
            throw new CheckpointException($"{path}: the tensors viewing storage 'data/{t.Storage.Key}' need {storage.ElementsViewed:N0} elements, " +
                                          $"more than its {storageNumel:N0}: overlapping or expanded (stride 0) views, which a state dict of parameters never has " +
                                          $"(at tensor '{name}'; save such tensors with .contiguous())");
        return new CheckpointTensor(t.Storage.DType, t.Shape, Gather(t, storage.Bytes, numel, size));
    }

    private static byte[] Gather(RestrictedUnpickler.TensorRef t, byte[] storage, long numel, int size)
    {
        var bytes = new byte[numel * size];
        bool contiguous = true;
        long expect = 1;
        for (int i = t.Shape.Length - 1; i >= 0; i--)
        {
            if (t.Shape[i] != 1 && t.Stride[i] != expect) contiguous = false;
            expect *= t.Shape[i];
        }
        if (contiguous)
        {
            Array.Copy(storage, t.Offset * size, bytes, 0, bytes.Length);
            return bytes;
        }
        var index = new long[t.Shape.Length];
        for (long e = 0; e < numel; e++)
        {
            long src = t.Offset;
            for (int i = 0; i < index.Length; i++) src += index[i] * t.Stride[i];
            Array.Copy(storage, src * size, bytes, e * size, size);
            for (int i = index.Length - 1; i >= 0 && ++index[i] == t.Shape[i]; i--) index[i] = 0;
        }
        return bytes;
    }

    /// <summary>Writes a state dict as <c>torch.save(OrderedDict)</c> does (pickle protocol 2, zip container).</summary>
    public static void Write(Stream stream, StateDict state)
    {
        using var zip = new ZipStoreWriter(stream);
        zip.Add("archive/data.pkl", Pickle(state));
        zip.Add("archive/byteorder", "little"u8);
        int i = 0;
        foreach (var t in state.Values) zip.Add($"archive/data/{i++}", t.Data);
        zip.Add("archive/version", "3\n"u8);
    }

    private static byte[] Pickle(StateDict state)
    {
        var p = new MemoryStream();
        p.Write([0x80, 2]);
        void Global(string module, string name) => p.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            p.WriteByte((byte)'X');
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
            p.Write(len);
            p.Write(b);
        }
        void Int(long v)
        {
            Span<byte> b = stackalloc byte[8];
            if (v is >= 0 and < 256) { p.WriteByte((byte)'K'); p.WriteByte((byte)v); }
            else if (v is >= 0 and < 65536) { p.WriteByte((byte)'M'); BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); p.Write(b[..2]); }
            else if (v is >= int.MinValue and <= int.MaxValue) { p.WriteByte((byte)'J'); BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); p.Write(b[..4]); }
            else { p.WriteByte(0x8a); p.WriteByte(8); BinaryPrimitives.WriteInt64LittleEndian(b, v); p.Write(b); }
        }
        void Tuple(IReadOnlyList<long> items)
        {
            if (items.Count == 0) { p.WriteByte((byte)')'); return; }
            p.WriteByte((byte)'(');
            foreach (var v in items) Int(v);
            p.WriteByte((byte)'t');
        }
        void EmptyOrderedDict() { Global("collections", "OrderedDict"); p.WriteByte((byte)')'); p.WriteByte((byte)'R'); }

        EmptyOrderedDict();
        p.WriteByte((byte)'(');
        int key = 0;
        foreach (var (name, t) in state)
        {
            Str(name);
            Global("torch._utils", "_rebuild_tensor_v2");
            p.WriteByte((byte)'(');
            p.WriteByte((byte)'(');
            Str("storage");
            Global("torch", t.DType.ToTorchStorage());
            Str((key++).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Str("cpu");
            Int(t.NumElements);
            p.WriteByte((byte)'t');
            p.WriteByte((byte)'Q');
            Int(0);
            Tuple(t.Shape);
            var stride = new long[t.Shape.Length];
            long s = 1;
            for (int i = t.Shape.Length - 1; i >= 0; i--) { stride[i] = s; s *= t.Shape[i]; }
            Tuple(stride);
            p.WriteByte(0x89); // requires_grad = False
            EmptyOrderedDict(); // backward hooks
            p.WriteByte((byte)'t');
            p.WriteByte((byte)'R');
        }
        p.WriteByte((byte)'u');
        p.WriteByte((byte)'.');
        return p.ToArray();
    }
}
