using System.Buffers.Binary;
using System.IO.Compression;

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
        return (dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a label file: one byte per item.</summary>
    public static byte[] ReadLabels(string path) => Read(path, 0x801).Data;

    private static (int[] Dims, byte[] Data) Read(string path, int magic)
    {
        if (!File.Exists(path)) throw new MobileOneException($"IDX file not found: {path}");
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            Span<byte> head = stackalloc byte[4];
            ReadExactly(stream, head, path, "header");
            int found = BinaryPrimitives.ReadInt32BigEndian(head);
            if (found != magic)
                throw new MobileOneException($"{path}: magic number 0x{found:x} where an IDX {(magic == 0x803 ? "image" : "label")} file has 0x{magic:x}");
            var dims = new int[magic & 0xff];
            long total = 1;
            for (int i = 0; i < dims.Length; i++)
            {
                ReadExactly(stream, head, path, "header");
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(head);
                if (dims[i] < 0) throw new MobileOneException($"{path}: negative dimension {dims[i]}");
                total *= dims[i];
            }
            if (total > 1L << 31) throw new MobileOneException($"{path}: claims {total:N0} bytes of data; refusing");
            var data = new byte[total];
            ReadExactly(stream, data, path, $"data ({total:N0} bytes for dimensions {string.Join("x", dims)})");
            return (dims, data);
        }
        catch (InvalidDataException e)
        {
            throw new MobileOneException($"{path}: corrupt gzip stream ({e.Message})");
        }
    }

    private static void ReadExactly(Stream s, Span<byte> buffer, string path, string what)
    {
        int read = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
            throw new MobileOneException($"{path}: truncated IDX file: the {what} ends after {read} of {buffer.Length} bytes");
    }
}
