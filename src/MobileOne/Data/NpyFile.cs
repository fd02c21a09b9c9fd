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
        try
        {
            var (shape, size, data) = Parse(path);
            var values = size == 4
                ? MemoryMarshal.Cast<byte, float>(data.Span).ToArray()
                : MemoryMarshal.Cast<byte, double>(data.Span).ToArray().Select(d => (float)d).ToArray();
            return tensor(values, shape);
        }
        catch (Exception e) when (e is not MobileOneException and not IOException and not UnauthorizedAccessException)
        {
            throw new MobileOneException($"{path}: corrupt .npy file ({e.GetType().Name}: {e.Message})", e);
        }
    }

    private static (long[] Shape, int ElementSize, ReadOnlyMemory<byte> Data) Parse(string path)
    {
        long length = new FileInfo(path).Length;
        ResourceLimits.Current.CheckTensorBytes(length, path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new MobileOneException($"{path}: not a .npy file (missing the \\x93NUMPY magic)");
        int major = bytes[6];
        long headerLen;
        int start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); start = 10; }
        else if (major is 2 or 3 && bytes.Length >= 12) { headerLen = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); start = 12; }
        else throw new MobileOneException($"{path}: unsupported .npy version {major}");
        if (start + headerLen > bytes.Length) throw new MobileOneException($"{path}: truncated .npy header");
        // NumPy itself refuses longer headers (max_header_size); the regular expressions below need the bound.
        if (headerLen > MaxHeader) throw new MobileOneException($"{path}: a .npy header of {headerLen:N0} bytes, more than the {MaxHeader:N0} NumPy accepts");
        var header = Encoding.Latin1.GetString(bytes, start, (int)headerLen);
        var descr = Descr().Match(header);
        var fortran = FortranOrder().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success)
            throw new MobileOneException($"{path}: malformed .npy header: {MessageText.Shorten(header.Trim(), 120)}");
        if (fortran.Groups[1].Value == "True")
            throw new MobileOneException($"{path}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        int size = descr.Groups[1].Value switch
        {
            "<f4" or "|f4" => 4,
            "<f8" => 8,
            var other => throw new MobileOneException($"{path}: dtype '{MessageText.Shorten(other, 120)}' is not supported; expected little-endian float32 ('<f4') or float64 ('<f8')"),
        };
        var shape = ParseShape(shapeMatch.Groups[1].Value, path);
        var data = bytes.AsMemory(start + (int)headerLen);
        // Checked: a shape whose byte count wraps around (2^62 x 4) must not pass for an empty array.
        long count = 1, needed;
        try
        {
            foreach (var d in shape) count = checked(count * d);
            needed = checked(count * size);
        }
        catch (OverflowException) { throw new MobileOneException($"{path}: shape ({string.Join(", ", shape)}) is impossibly large"); }
        if (data.Length != needed)
            throw new MobileOneException($"{path}: shape ({string.Join(", ", shape)}) needs {needed:N0} data bytes, the file has {data.Length:N0} (truncated?)");
        return (shape, size, data);
    }

    private const int MaxHeader = 10_000;

    // A tensor has at most a few dozen dimensions (LibTorch refuses more than 64).
    private const int MaxDims = 32;

    private static long[] ParseShape(string text, string path)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length > MaxDims) throw new MobileOneException($"{path}: the .npy shape has {parts.Length} dimensions, more than {MaxDims}");
        return parts.Select(s => long.TryParse(s.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var d)
                ? d : throw new MobileOneException($"{path}: malformed shape in .npy header: ({MessageText.Shorten(text, 120)})"))
            .ToArray();
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
        var values = c.numel() == 0 ? [] : c.data<float>().ToArray(); // TorchSharp's accessor fails on empty tensors
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
