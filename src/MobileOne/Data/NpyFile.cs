using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using MobileOne.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Data;

/// <summary>
/// NumPy's <c>.npy</c> format for float arrays: a magic string, a Python-literal header (dtype, order,
/// shape), then the raw data. Reads little-endian float32 or float64 in C order; writes float32.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();

    /// <summary>Reads a float array as a float32 tensor.</summary>
    public static Tensor Read(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"input file not found: {path}");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new MobileOneException($"{path}: not a .npy file (missing the \\x93NUMPY magic)");
        int major = bytes[6];
        int headerLen, start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); start = 10; }
        else if (major is 2 or 3 && bytes.Length >= 12) { headerLen = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)), int.MaxValue); start = 12; }
        else throw new MobileOneException($"{path}: unsupported .npy version {major}");
        if ((long)start + headerLen > bytes.Length) throw new MobileOneException($"{path}: truncated .npy header");
        var header = Encoding.Latin1.GetString(bytes, start, headerLen);
        var descr = Descr().Match(header);
        var fortran = FortranOrder().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new MobileOneException($"{path}: malformed .npy header: {header.Trim()}");
        if (fortran.Groups[1].Value == "True")
            throw new MobileOneException($"{path}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var d)
                ? d : throw new MobileOneException($"{path}: malformed shape in .npy header: ({shapeMatch.Groups[1].Value})"))
            .ToArray();
        long count = shape.Aggregate(1L, (a, b) => checked(a * b));
        var data = bytes.AsSpan(start + headerLen);
        int size = descr.Groups[1].Value switch
        {
            "<f4" or "|f4" => 4,
            "<f8" => 8,
            var other => throw new MobileOneException($"{path}: dtype '{other}' is not supported; expected little-endian float32 ('<f4') or float64 ('<f8')"),
        };
        if (data.Length != count * size)
            throw new MobileOneException($"{path}: shape ({string.Join(", ", shape)}) needs {count * size:N0} data bytes, the file has {data.Length:N0} (truncated?)");
        var values = size == 4
            ? MemoryMarshal.Cast<byte, float>(data).ToArray()
            : MemoryMarshal.Cast<byte, double>(data).ToArray().Select(d => (float)d).ToArray();
        return tensor(values, shape);
    }

    /// <summary>Writes a tensor as a float32 C-order <c>.npy</c> file, atomically.</summary>
    public static void Write(string path, Tensor t)
    {
        using var c = t.detach().cpu().to(float32).contiguous();
        var shape = c.shape;
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        // Pad with spaces so that the data start on a 64-byte boundary, newline-terminated.
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var values = c.data<float>().ToArray();
        AtomicFile.Write(path, s =>
        {
            s.Write(Magic);
            s.Write([1, 0]);
            Span<byte> len = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            s.Write(len);
            s.Write(Encoding.Latin1.GetBytes(header));
            s.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        });
    }
}
