using System.Text;
using MobileOne.IO;

namespace MobileOne.Tests;

/// <summary>Hand-assembles pickles and torch.save archives, including hostile ones.</summary>
public sealed class PickleBuilder
{
    private readonly MemoryStream s = new();

    public PickleBuilder() => s.Write([0x80, 2]);

    public PickleBuilder Op(char op) { s.WriteByte((byte)op); return this; }
    public PickleBuilder Byte(byte b) { s.WriteByte(b); return this; }
    public PickleBuilder Global(string module, string name) { s.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n")); return this; }
    public PickleBuilder Str(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        s.WriteByte((byte)'X');
        s.Write(BitConverter.GetBytes(b.Length));
        s.Write(b);
        return this;
    }
    public PickleBuilder ShortStr(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        s.WriteByte(0x8c);
        s.WriteByte((byte)b.Length);
        s.Write(b);
        return this;
    }
    public PickleBuilder Long(long v) { s.WriteByte(0x8a); s.WriteByte(8); s.Write(BitConverter.GetBytes(v)); return this; }
    public PickleBuilder Tuple(params long[] items)
    {
        Op('(');
        foreach (var i in items) Long(i);
        return Op('t');
    }

    /// <summary>OrderedDict with one tensor entry whose storage and view are as given.</summary>
    public static byte[] OneTensor(string key, long storageNumel, long[] shape, long[] stride, long offset = 0) =>
        Tensors(storageNumel, (key, offset, shape, stride));

    /// <summary>OrderedDict of tensors that all view storage "0" of <paramref name="storageNumel"/> floats.</summary>
    public static byte[] Tensors(long storageNumel, params (string Key, long Offset, long[] Shape, long[] Stride)[] views)
    {
        var b = new PickleBuilder().Global("collections", "OrderedDict").Op(')').Op('R').Op('(');
        foreach (var (key, offset, shape, stride) in views)
            b.Str(key).Global("torch._utils", "_rebuild_tensor_v2")
                .Op('(').Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Long(storageNumel).Op('t').Op('Q')
                .Long(offset).Tuple(shape).Tuple(stride).Byte(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R');
        return b.Op('u').Op('.').ToArray();
    }

    /// <summary>Raw bytes, for strings that are not valid UTF-8 and other malformed content.</summary>
    public PickleBuilder Raw(params byte[] bytes) { s.Write(bytes); return this; }

    public byte[] ToArray() => s.ToArray();

    /// <summary>Writes a torch.save-style archive with the given pickle and storage records.</summary>
    public static void WriteArchive(string path, byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        using var f = File.Create(path);
        using var zip = new ZipStoreWriter(f);
        zip.Add("archive/data.pkl", pickle);
        foreach (var (key, data) in storages) zip.Add($"archive/data/{key}", data);
        zip.Add("archive/version", "3\n"u8);
    }
}
