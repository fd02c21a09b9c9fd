using System.Buffers.Binary;
using System.IO.Compression;
using MobileOne.IO;

namespace MobileOne.Segmentation;

/// <summary>A class mask: one label per pixel, row by row.</summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="Labels">The labels, <paramref name="Width"/> x <paramref name="Height"/> of them.</param>
public sealed record LabelMask(int Width, int Height, byte[] Labels);

/// <summary>
/// Reads class masks from PNG files as stored: the palette index of a palette PNG (Pascal VOC's masks) or the
/// level of an 8-bit grey PNG (ADE20K's, the mosaic's), never a colour. A general image decoder would turn the
/// palette into colours, so the PNG is read here: signature, chunks with their CRCs, the zlib stream, the filters.
/// </summary>
public static class MaskPng
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private const int Grey = 0, Palette = 3;

    /// <summary>
    /// The mask in <paramref name="path"/>; a <see cref="MobileOneException"/> naming the file when it is missing,
    /// not a PNG, not 8-bit grey or palette, interlaced, damaged, or larger than <see cref="ResourceLimits.MaxImagePixels"/>.
    /// </summary>
    public static LabelMask Read(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"mask not found: {path}");
        byte[] file;
        using (var stream = File.OpenRead(path))
        {
            file = BoundedRead.UpTo(stream, MaxFileBytes + 1);
            if (file.Length > MaxFileBytes) throw new MobileOneException($"{path}: larger than {MaxFileBytes:N0} bytes; not a mask");
        }
        if (file.Length < Signature.Length || !file.AsSpan(0, Signature.Length).SequenceEqual(Signature))
            throw new MobileOneException($"{path}: not a PNG file (a mask must be an 8-bit grey or palette PNG)");
        var (width, height, compressed) = ReadChunks(file, path);
        return new LabelMask(width, height, Unfilter(Inflate(compressed, width, height, path), width, height, path));
    }

    /// <summary>The largest mask file read: 256 MiB.</summary>
    public const int MaxFileBytes = 256 << 20;

    // IHDR first, then the IDAT chunks concatenated; every chunk's length bounded by the file and its CRC checked.
    private static (int Width, int Height, byte[] Data) ReadChunks(byte[] file, string path)
    {
        int pos = Signature.Length, width = 0, height = 0;
        using var data = new MemoryStream();
        bool header = false;
        while (true)
        {
            if (file.Length - pos < 12) throw new MobileOneException($"{path}: the PNG is truncated (no IEND chunk)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            if (length > file.Length - pos - 12) throw new MobileOneException($"{path}: the PNG is truncated or damaged (a chunk claims {length:N0} bytes, more than the file holds)");
            var type = System.Text.Encoding.ASCII.GetString(file, pos + 4, 4);
            var body = file.AsSpan(pos + 8, (int)length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + (int)length));
            if (Crc32.Compute(file.AsSpan(pos + 4, 4 + (int)length)) != crc) throw new MobileOneException($"{path}: the PNG chunk {type} is damaged (CRC mismatch)");
            pos += 12 + (int)length;
            if (!header)
            {
                if (type != "IHDR") throw new MobileOneException($"{path}: the PNG does not start with its header (IHDR)");
                (width, height) = ReadHeader(body, path);
                header = true;
            }
            else if (type == "IDAT") data.Write(body);
            else if (type == "IEND") return (width, height, data.ToArray());
        }
    }

    private static (int Width, int Height) ReadHeader(ReadOnlySpan<byte> h, string path)
    {
        if (h.Length != 13) throw new MobileOneException($"{path}: the PNG header has {h.Length} bytes, not 13");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(h), height = BinaryPrimitives.ReadUInt32BigEndian(h[4..]);
        if (width is 0 or > int.MaxValue || height is 0 or > int.MaxValue) throw new MobileOneException($"{path}: a PNG of {width}x{height} pixels");
        ResourceLimits.Current.CheckImage(width, height, path);
        int depth = h[8], colour = h[9];
        if (depth != 8 || colour is not (Grey or Palette))
            throw new MobileOneException($"{path}: a mask must be an 8-bit grey or palette PNG; this one has colour type {colour} at {depth} bits " +
                "(an RGB mask holds colours, not class indices)");
        if (h[10] != 0 || h[11] != 0) throw new MobileOneException($"{path}: unknown PNG compression or filter method");
        if (h[12] != 0) throw new MobileOneException($"{path}: an interlaced PNG; masks are read non-interlaced");
        return ((int)width, (int)height);
    }

    // Exactly one filter byte and one byte per pixel a row; a stream that ends early is truncation.
    private static byte[] Inflate(byte[] compressed, int width, int height, string path)
    {
        long size = checked(((long)width + 1) * height);
        if (size > Array.MaxLength) throw new MobileOneException($"{path}: a mask of {width}x{height} pixels is more than one array can hold");
        var raw = new byte[size];
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
            int read = 0, n;
            while (read < raw.Length && (n = zlib.Read(raw, read, raw.Length - read)) > 0) read += n;
            if (read < raw.Length) throw new MobileOneException($"{path}: the PNG's image data are truncated ({read:N0} of {raw.Length:N0} bytes)");
        }
        catch (InvalidDataException e)
        {
            throw new MobileOneException($"{path}: the PNG's image data are corrupt ({e.Message})");
        }
        return raw;
    }

    // PNG's five row filters, one byte per pixel (PNG specification, section 9).
    private static byte[] Unfilter(byte[] raw, int width, int height, string path)
    {
        var labels = new byte[(long)width * height];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[(long)y * (width + 1)];
            var source = raw.AsSpan((int)((long)y * (width + 1) + 1), width);
            var row = labels.AsSpan(y * width, width);
            var up = y == 0 ? default : labels.AsSpan((y - 1) * width, width);
            for (int x = 0; x < width; x++)
            {
                int a = x > 0 ? row[x - 1] : 0, b = y > 0 ? up[x] : 0, c = x > 0 && y > 0 ? up[x - 1] : 0;
                row[x] = (byte)(source[x] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new MobileOneException($"{path}: row {y} has the unknown PNG filter {filter}"),
                });
            }
        }
        return labels;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
