using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MobileOne.Fuzz.Mutation;

/// <summary>A PNG chunk: four-letter type and payload (length and CRC are computed on writing).</summary>
/// <param name="Type">Chunk type, e.g. IHDR.</param>
/// <param name="Data">Payload.</param>
public sealed record PngChunk(string Type, byte[] Data);

/// <summary>PNG files as chunk lists: parsing, writing with correct CRCs, and valid images of any size built directly.</summary>
public static class Png
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a];

    /// <summary>The chunks of a well-formed PNG.</summary>
    public static List<PngChunk> Parse(byte[] png)
    {
        var chunks = new List<PngChunk>();
        int pos = Signature.Length;
        while (pos + 12 <= png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            chunks.Add(new PngChunk(type, png.AsSpan(pos + 8, length).ToArray()));
            pos += 12 + length;
        }
        return chunks;
    }

    /// <summary>The file of <paramref name="chunks"/>, every length and CRC correct.</summary>
    public static byte[] Write(IEnumerable<PngChunk> chunks)
    {
        var s = new MemoryStream();
        s.Write(Signature);
        Span<byte> word = stackalloc byte[4];
        foreach (var c in chunks)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, c.Data.Length);
            s.Write(word);
            var typed = Encoding.ASCII.GetBytes(c.Type).Concat(c.Data).ToArray();
            s.Write(typed);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc.Compute(typed));
            s.Write(word);
        }
        return s.ToArray();
    }

    /// <summary>An IHDR payload.</summary>
    public static byte[] Header(uint width, uint height, byte bitDepth = 8, byte colorType = 2, byte interlace = 0)
    {
        var h = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(h, width);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), height);
        h[8] = bitDepth;
        h[9] = colorType;
        h[12] = interlace;
        return h;
    }

    /// <summary>
    /// A valid 8-bit RGB PNG of <paramref name="width"/> x <paramref name="height"/> with a diagonal gradient,
    /// streamed through deflate so that huge thin images (10^6 x 1) stay a few kilobytes.
    /// </summary>
    public static byte[] Solid(int width, int height)
    {
        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        using (var buffered = new BufferedStream(z, 1 << 16))
        {
            var row = new byte[1 + 3 * width];
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    row[1 + 3 * x] = (byte)(x + y);
                    row[2 + 3 * x] = (byte)(x * 3);
                    row[3 + 3 * x] = (byte)(y * 5);
                }
                buffered.Write(row);
            }
        }
        return Write([new("IHDR", Header((uint)width, (uint)height)), new("IDAT", compressed.ToArray()), new("IEND", [])]);
    }
}

/// <summary>CRC-32 as PNG and zip use it (polynomial 0xEDB88320).</summary>
public static class Crc
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xffffffffu;
        foreach (var b in data) c = Table[(c ^ b) & 0xff] ^ (c >> 8);
        return c ^ 0xffffffffu;
    }
}
