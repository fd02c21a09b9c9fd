using System.Buffers.Binary;
using System.IO.Compression;
using MobileOne.Data;
using MobileOne.IO;
using SkiaSharp;

namespace MobileOne.Tests;

/// <summary>Data files built byte by byte in tests: IDX files and folders, GIF and PNG images, damaged or not.</summary>
internal static class TestFiles
{
    /// <summary>An IDX file: big-endian magic and dimensions, then the data; gzipped or plain, optionally cut short.</summary>
    public static string Idx(string path, int magic, int[] dims, byte[] data, bool gzip = true, int truncateBy = 0)
    {
        var raw = new MemoryStream();
        Span<byte> word = stackalloc byte[4];
        foreach (var v in dims.Prepend(magic))
        {
            BinaryPrimitives.WriteInt32BigEndian(word, v);
            raw.Write(word);
        }
        raw.Write(data);
        var bytes = raw.ToArray()[..^truncateBy];
        using var file = File.Create(path);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        output.Write(bytes);
        return path;
    }

    /// <summary>
    /// A folder of the four IDX files: images of <paramref name="rows"/> x <paramref name="cols"/> whose gray
    /// levels depend on their label (so that a model can learn them) and on a seed; the training images
    /// and the test labels gzipped, the others plain, as a folder may mix them.
    /// </summary>
    public static string IdxFolder(string dir, byte[] trainLabels, byte[] testLabels, int rows, int cols, int seed = 0)
    {
        Directory.CreateDirectory(dir);
        Idx(Path.Combine(dir, "train-images-idx3-ubyte.gz"), 0x803, [trainLabels.Length, rows, cols], Pixels(trainLabels, rows, cols, seed));
        Idx(Path.Combine(dir, "train-labels-idx1-ubyte"), 0x801, [trainLabels.Length], trainLabels, gzip: false);
        Idx(Path.Combine(dir, "t10k-images-idx3-ubyte"), 0x803, [testLabels.Length, rows, cols], Pixels(testLabels, rows, cols, seed + 1), gzip: false);
        Idx(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), 0x801, [testLabels.Length], testLabels);
        return dir;
    }

    /// <summary>Per image: a bright band of rows whose position is the label, over noise.</summary>
    public static byte[] Pixels(byte[] labels, int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[labels.Length * rows * cols];
        for (int i = 0; i < labels.Length; i++)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                    pixels[(i * rows + y) * cols + x] = (byte)(rng.Next(60) + (y * 4 / rows == labels[i] % 4 ? 180 : 0));
        return pixels;
    }

    /// <summary>The RGB colours of <see cref="Gif"/>'s four-entry palette.</summary>
    public static readonly byte[] GifPalette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];

    /// <summary>
    /// A GIF89a of one frame, colour index (x + y) mod 4 of <see cref="GifPalette"/>, LZW-coded without
    /// compression: a clear code before every two pixels keeps the dictionary, hence the code width (3 bits),
    /// from growing. The logical screen may be given a size of its own, as a damaged header would.
    /// </summary>
    public static byte[] Gif(int width, int height, int? screenWidth = null, int? screenHeight = null)
    {
        var gif = new MemoryStream();
        gif.Write("GIF89a"u8);
        WriteUInt16(gif, screenWidth ?? width);
        WriteUInt16(gif, screenHeight ?? height);
        gif.Write([0x81, 0, 0]); // a global colour table of 2^(1+1) entries; background 0; square pixels
        gif.Write(GifPalette);
        gif.WriteByte(0x2C); // image descriptor: at (0, 0), the given size, no local table, not interlaced
        foreach (var v in new[] { 0, 0, width, height }) WriteUInt16(gif, v);
        gif.WriteByte(0);
        gif.WriteByte(2); // LZW minimum code size: 2 bits per colour index
        var data = Lzw(Enumerable.Range(0, width * height).Select(i => (i % width + i / width) % 4));
        for (int i = 0; i < data.Length; i += 255)
        {
            var block = data.AsSpan(i, Math.Min(255, data.Length - i));
            gif.WriteByte((byte)block.Length);
            gif.Write(block);
        }
        gif.Write([0, 0x3B]); // end of the image data, trailer
        return gif.ToArray();
    }

    /// <summary>
    /// Offset of the first sub-block's length byte in a <see cref="Gif"/>: after the signature (6 bytes), the
    /// screen descriptor (7), the palette (12), the image descriptor (10) and the LZW code size (1).
    /// </summary>
    public const int GifDataOffset = 6 + 7 + 12 + 10 + 1;

    private static byte[] Lzw(IEnumerable<int> indices)
    {
        const int clear = 4, end = 5, width = 3;
        var codes = new List<int>();
        int n = 0;
        foreach (var index in indices)
        {
            if (n++ % 2 == 0) codes.Add(clear);
            codes.Add(index);
        }
        codes.Add(end);
        var bytes = new List<byte>();
        int bits = 0, count = 0;
        foreach (var code in codes)
        {
            bits |= code << count;
            for (count += width; count >= 8; count -= 8, bits >>= 8) bytes.Add((byte)bits);
        }
        if (count > 0) bytes.Add((byte)bits);
        return [.. bytes];
    }

    private static void WriteUInt16(Stream s, int value)
    {
        s.WriteByte((byte)value);
        s.WriteByte((byte)(value >> 8));
    }

    /// <summary>A PNG of <paramref name="width"/> x <paramref name="height"/> in one colour, encoded by SkiaSharp.</summary>
    public static byte[] Png(int width, int height, byte red)
    {
        using var bmp = new SKBitmap(width, height);
        bmp.Erase(new SKColor(red, (byte)(255 - red), 90));
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>
    /// A PNG whose IDAT chunk holds garbage after the zlib header, with a correct CRC: the chunk structure is
    /// sound, the compressed pixels are not.
    /// </summary>
    public static byte[] PngWithBrokenIdat(int width, int height)
    {
        var png = Png(width, height, 40);
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            if (png.AsSpan(at + 4, 4).SequenceEqual("IDAT"u8))
            {
                png.AsSpan(at + 8 + 2, length - 2).Fill(0xFF);
                BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(at + 8 + length), Crc32.Compute(png.AsSpan(at + 4, 4 + length)));
                return png;
            }
            at += 12 + length;
        }
        throw new InvalidOperationException("SkiaSharp wrote a PNG without IDAT");
    }

    /// <summary>The colour of pixel (x, y) of a decoded image.</summary>
    public static byte[] Pixel(RgbImage image, int x, int y) => image.Pixels.AsSpan((y * image.Width + x) * 3, 3).ToArray();
}
