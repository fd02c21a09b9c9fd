using System.Buffers.Binary;
using System.IO.Compression;
using MobileOne.IO;

namespace MobileOne.Data;

/// <summary>
/// The IDX format of MNIST and Fashion-MNIST (optionally gzipped): a big-endian magic number whose last
/// byte is the number of dimensions (0x803 images, 0x801 labels), the dimensions, then unsigned bytes.
/// </summary>
public static class IdxFile
{
    /// <summary>Reads an image file: count x rows x cols bytes.</summary>
    public static (int Count, int Rows, int Cols, byte[] Pixels) ReadImages(string path)
    {
        var (dims, data) = Read(path, 0x803);
        if (dims[1] < 1 || dims[2] < 1) throw new MobileOneException($"{path}: images of {dims[1]}x{dims[2]} pixels have no pixels");
        ResourceLimits.Current.CheckImage(dims[2], dims[1], path);
        return (dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a label file: one byte per item.</summary>
    public static byte[] ReadLabels(string path) => Read(path, 0x801).Data;

    /// <summary>Writes a plain (not gzipped) image file atomically: <paramref name="pixels"/> holds count x rows x cols bytes.</summary>
    public static void WriteImages(string path, int rows, int cols, byte[] pixels) =>
        Write(path, 0x803, [pixels.Length / (rows * cols), rows, cols], pixels);

    /// <summary>Writes a plain (not gzipped) label file atomically.</summary>
    public static void WriteLabels(string path, byte[] labels) => Write(path, 0x801, [labels.Length], labels);

    private static void Write(string path, int magic, int[] dims, byte[] data) =>
        AtomicFile.Write(path, stream =>
        {
            Span<byte> word = stackalloc byte[4];
            foreach (var v in dims.Prepend(magic))
            {
                BinaryPrimitives.WriteInt32BigEndian(word, v);
                stream.Write(word);
            }
            stream.Write(data);
        });

    private static (int[] Dims, byte[] Data) Read(string path, int magic)
    {
        if (!File.Exists(path)) throw new MobileOneException($"IDX file not found: {path}");
        try
        {
            using var file = File.OpenRead(path);
            bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
            using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
            var dims = ReadHeader(stream, path, magic);
            long total = DataBytes(dims, path);
            // A plain file must hold its data; a gzipped one is read in step with what it really holds.
            if (!gzip && total > file.Length - file.Position)
                throw new MobileOneException($"{path}: dimensions {string.Join("x", dims)} need {total:N0} data bytes, the file holds {file.Length - file.Position:N0} (truncated?)");
            var data = BoundedRead.UpTo(stream, (int)total);
            if (data.Length < total)
                throw new MobileOneException($"{path}: truncated IDX file: the data for dimensions {string.Join("x", dims)} end after {data.Length:N0} of {total:N0} bytes");
            return (dims, data);
        }
        catch (InvalidDataException e)
        {
            throw new MobileOneException($"{path}: corrupt gzip stream ({e.Message})");
        }
    }

    private static int[] ReadHeader(Stream stream, string path, int magic)
    {
        Span<byte> head = stackalloc byte[4];
        ReadExactly(stream, head, path, "header");
        int found = BinaryPrimitives.ReadInt32BigEndian(head);
        if (found != magic)
            throw new MobileOneException($"{path}: magic number 0x{found:x} where an IDX {(magic == 0x803 ? "image" : "label")} file has 0x{magic:x}");
        var dims = new int[magic & 0xff];
        for (int i = 0; i < dims.Length; i++)
        {
            ReadExactly(stream, head, path, "header");
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(head);
            if (dims[i] < 0) throw new MobileOneException($"{path}: negative dimension {dims[i]}");
        }
        return dims;
    }

    private static long DataBytes(int[] dims, string path)
    {
        long total = 1;
        try { foreach (var d in dims) total = checked(total * d); }
        catch (OverflowException) { throw new MobileOneException($"{path}: dimensions {string.Join("x", dims)} are impossibly large"); }
        ResourceLimits.Current.CheckTensorBytes(total, $"{path}: the IDX data ({string.Join("x", dims)})");
        return total;
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string path, string what)
    {
        int read = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new MobileOneException($"{path}: truncated IDX file: the {what} ends after {read} of {buffer.Length} bytes");
    }
}
