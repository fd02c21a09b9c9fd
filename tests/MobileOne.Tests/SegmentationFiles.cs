using System.Buffers.Binary;
using System.IO.Compression;
using MobileOne.Data;
using MobileOne.IO;

namespace MobileOne.Tests;

/// <summary>PNG masks written byte by byte, so that tests choose the colour type, the row filters and the damage.</summary>
internal static class SegmentationFiles
{
    /// <summary>
    /// An 8-bit PNG of colour type <paramref name="colourType"/> (3: palette, 0: grey) holding <paramref name="labels"/>;
    /// row y uses filter y mod 5, so every filter is decoded. No labels write no rows: a header claiming any size.
    /// </summary>
    public static byte[] Png(int width, int height, byte[] labels, int colourType = 3, int depth = 8)
    {
        using var raw = new MemoryStream();
        for (int y = 0; y < height && labels.Length > 0; y++)
        {
            int filter = y % 5;
            raw.WriteByte((byte)filter);
            for (int x = 0; x < width; x++)
            {
                int a = x > 0 ? labels[y * width + x - 1] : 0, b = y > 0 ? labels[(y - 1) * width + x] : 0;
                int c = x > 0 && y > 0 ? labels[(y - 1) * width + x - 1] : 0;
                int predictor = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => Paeth(a, b, c) };
                raw.WriteByte((byte)(labels[y * width + x] - predictor));
            }
        }
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw.ToArray());
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = (byte)depth;
        header[9] = (byte)colourType;
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", header);
        if (colourType == 3) Chunk(png, "PLTE", Enumerable.Range(0, 256 * 3).Select(i => (byte)(i * 37)).ToArray());
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        System.Text.Encoding.ASCII.GetBytes(type).CopyTo(head, 4);
        s.Write(head);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute([.. head.AsSpan(4), .. data]));
        s.Write(crc);
    }

    /// <summary>Writes a palette mask to <paramref name="path"/>, creating its folder.</summary>
    public static string WriteMask(string path, int width, int height, byte[] labels)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Png(width, height, labels));
        return path;
    }

    /// <summary>Writes a grey RGB image of the size to <paramref name="path"/>, creating its folder.</summary>
    public static string WriteImage(string path, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ImageEncoder.RgbPng(new RgbImage(width, height, Enumerable.Repeat((byte)128, width * height * 3).ToArray())));
        return path;
    }
}
