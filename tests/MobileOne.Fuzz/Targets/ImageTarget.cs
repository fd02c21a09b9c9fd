using System.Buffers.Binary;
using MobileOne.Data;
using MobileOne.Fuzz.Mutation;
using SkiaSharp;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// <c>ImageDecoder.Decode</c> then the evaluation transform (<c>ImagePreprocessor.Process</c>: resize the shorter
/// side to 256, crop 224), as <c>predict</c> runs them, on PNG, JPEG, WebP, GIF and BMP files.
/// </summary>
public sealed class ImageTarget : FuzzTarget
{
    private sealed record Seed(string Name, string Extension, byte[] Data);

    private static readonly uint[] Sides = [0, 1, 2, 1_000_000, 65535, 65536, 16384, 46341, 0x7fffffff, 0x80000000, 0xffffffff, 3000];

    private List<Seed> seeds = [];
    private byte[] large = [];

    /// <inheritdoc/>
    public override string Name => "image";

    /// <inheritdoc/>
    public override void Run(string path) => new ImagePreprocessor().Process(ImageDecoder.Decode(path));

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        seeds = [new("png", ".png", Encode(SKEncodedImageFormat.Png, 8, 6)), new("jpeg", ".jpg", Encode(SKEncodedImageFormat.Jpeg, 16, 12)),
                 new("gif", ".gif", Gif(3, 2)), new("bmp", ".bmp", Bmp(3, 2))];
        var webp = Encode(SKEncodedImageFormat.Webp, 8, 6);
        if (webp.Length > 0) seeds.Add(new("webp", ".webp", webp));
        large = Png.Solid(4096, 4096);
        return new FuzzPlan(
            seeds.Select(s => new Mutant(s.Data, s.Extension, "seed", $"seed {s.Name}")).ToList(),
            [
                new("bytes", 4, Havoc),
                new("png-chunks", 4, PngChunks),
                new("thin-image", 0.8, ThinImage),
                new("truncate", 1, Truncate),
                new("gif-fields", 1, GifFields),
                new("bmp-fields", 1, BmpFields),
            ]);
    }

    private static byte[] Encode(SKEncodedImageFormat format, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 30), (byte)(y * 40), (byte)(x * y * 10)));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 80);
        return data?.ToArray() ?? [];
    }

    // GIF89a with a two-colour table and one frame, LZW-coded as literals only (the decoder's code-width rule mirrored).
    private static byte[] Gif(int width, int height)
    {
        var s = new MemoryStream();
        s.Write("GIF89a"u8);
        s.Write(BitConverter.GetBytes((ushort)width));
        s.Write(BitConverter.GetBytes((ushort)height));
        s.Write([0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        s.Write([0x2c, 0, 0, 0, 0]);
        s.Write(BitConverter.GetBytes((ushort)width));
        s.Write(BitConverter.GetBytes((ushort)height));
        s.WriteByte(0);
        const int minCode = 2;
        s.WriteByte(minCode);
        var bits = new List<bool>();
        void Emit(int code, int width) { for (int i = 0; i < width; i++) bits.Add(((code >> i) & 1) != 0); }
        int size = minCode + 1, next = (1 << minCode) + 2;
        Emit(1 << minCode, size);
        for (int i = 0; i < width * height; i++)
        {
            Emit((i / width + i) % 2, size);
            if (i == 0) continue;
            next++;
            if (next >= 1 << size && size < 12) size++;
        }
        Emit((1 << minCode) + 1, size);
        var packed = new byte[(bits.Count + 7) / 8];
        for (int i = 0; i < bits.Count; i++) if (bits[i]) packed[i / 8] |= (byte)(1 << (i % 8));
        for (int at = 0; at < packed.Length; at += 255)
        {
            int n = Math.Min(255, packed.Length - at);
            s.WriteByte((byte)n);
            s.Write(packed, at, n);
        }
        s.Write([0, 0x3b]);
        return s.ToArray();
    }

    // A 24-bit bottom-up BMP with BITMAPINFOHEADER.
    private static byte[] Bmp(int width, int height)
    {
        int row = (3 * width + 3) / 4 * 4;
        var b = new byte[54 + row * height];
        b[0] = (byte)'B';
        b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(34), row * height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                b[54 + y * row + 3 * x] = (byte)(50 * x + 70 * y);
        return b;
    }

    private Mutant Make(Seed seed, byte[] data, string strategy, string detail) => new(data, seed.Extension, strategy, $"seed {seed.Name}: {detail}");

    private Mutant Havoc(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = rng.Chance(0.5) ? Bytes.Havoc(rng, seed.Data, 0, Math.Min(seed.Data.Length, 64)) : Bytes.Havoc(rng, seed.Data);
        return Make(seed, data, "bytes", detail);
    }

    private Mutant Truncate(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = Bytes.Truncate(seed.Data, rng);
        return Make(seed, data, "truncate", detail);
    }

    private Mutant PngChunks(Random rng)
    {
        var seed = seeds[0];
        var chunks = Png.Parse(seed.Data);
        int ihdr = chunks.FindIndex(c => c.Type == "IHDR");
        var header = (byte[])chunks[ihdr].Data.Clone();
        string detail;
        switch (rng.Next(6))
        {
            case 0 or 1:
                uint w = rng.Chance(0.7) ? rng.Pick(Sides) : BinaryPrimitives.ReadUInt32BigEndian(header);
                uint h = rng.Chance(0.7) ? rng.Pick(Sides) : BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                BinaryPrimitives.WriteUInt32BigEndian(header, w);
                BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), h);
                chunks[ihdr] = chunks[ihdr] with { Data = header };
                detail = $"IHDR {w} x {h} (CRC fixed)";
                break;
            case 2:
                int field = rng.Next(8, 13);
                header[field] = rng.Pick(new byte[] { 0, 1, 2, 3, 4, 6, 7, 16, 255 });
                chunks[ihdr] = chunks[ihdr] with { Data = header };
                detail = $"IHDR byte {field} := {header[field]} (CRC fixed)";
                break;
            case 3:
                var extra = rng.Pick(new PngChunk[]
                {
                    new("PLTE", new byte[3 * 257]), new("PLTE", []), new("tRNS", new byte[300]), new("iCCP", [.. "x"u8, 0, 0, 1, 2, 3]),
                    new("IHDR", Png.Header(100_000, 100_000)), new("acTL", new byte[8]), new("IDAT", []), new("zzzz", new byte[16]),
                });
                int at = rng.Next(1, chunks.Count);
                chunks.Insert(at, extra);
                detail = $"{extra.Type} chunk of {extra.Data.Length} bytes inserted at {at}";
                break;
            case 4:
                int i = rng.Next(chunks.Count);
                detail = $"chunk {chunks[i].Type} {(rng.Chance(0.5) ? "dropped" : "duplicated")}";
                if (detail.EndsWith("dropped")) chunks.RemoveAt(i);
                else chunks.Insert(i, chunks[i]);
                break;
            default:
                int idat = chunks.FindIndex(c => c.Type == "IDAT");
                var (data, what) = Bytes.Havoc(rng, chunks[idat].Data);
                chunks[idat] = chunks[idat] with { Data = data };
                detail = $"IDAT {what} (CRC fixed)";
                break;
        }
        return Make(seed, Png.Write(chunks), "png-chunks", detail);
    }

    // Valid images whose aspect ratio makes the resize enormous: 10^6 x 1 becomes 256,000,000 x 256.
    private Mutant ThinImage(Random rng)
    {
        if (rng.Chance(0.1)) return new Mutant(large, ".png", "thin-image", "valid 4096 x 4096 PNG");
        int longSide = rng.Chance(0.5) ? rng.Next(1_000, 20_000) : rng.Next(20_000, 2_000_000);
        int shortSide = rng.Next(1, 3);
        var (w, h) = rng.Chance(0.5) ? (longSide, shortSide) : (shortSide, longSide);
        return new Mutant(Png.Solid(w, h), ".png", "thin-image", $"valid {w} x {h} PNG");
    }

    private Mutant GifFields(Random rng)
    {
        var seed = seeds.First(s => s.Name == "gif");
        var data = (byte[])seed.Data.Clone();
        var (offset, width, name) = rng.Pick(new (int, int, string)[]
        {
            (6, 2, "screen width"), (8, 2, "screen height"), (10, 1, "screen flags"), (20, 1, "frame left"), (22, 1, "frame top"),
            (23, 2, "frame width"), (25, 2, "frame height"), (27, 1, "frame flags"), (28, 1, "LZW minimum code size"), (29, 1, "first sub-block length"),
        });
        uint value = rng.Pick(new uint[] { 0, 1, 2, 0x7f, 0x80, 0xff, 0xfff, 0xffff, 12, 13 });
        if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(offset), (ushort)value);
        else data[offset] = (byte)value;
        return Make(seed, data, "gif-fields", $"{name} := {(width == 2 ? (ushort)value : (byte)value)}");
    }

    private Mutant BmpFields(Random rng)
    {
        var seed = seeds.First(s => s.Name == "bmp");
        var data = (byte[])seed.Data.Clone();
        var (offset, width, name) = rng.Pick(new (int, int, string)[]
        {
            (2, 4, "file size"), (10, 4, "pixel offset"), (14, 4, "header size"), (18, 4, "width"), (22, 4, "height"),
            (26, 2, "planes"), (28, 2, "bits per pixel"), (30, 4, "compression"), (34, 4, "image size"), (46, 4, "colours used"),
        });
        long value = rng.Pick(new long[] { 0, 1, -1, 2, 4, 8, 16, 24, 32, 64, 3, 6, 12, 40, 108, 124, 1_000_000, int.MaxValue, int.MinValue, -1_000_000 });
        if (width == 2) BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(offset), (short)value);
        else BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(offset), (int)value);
        return Make(seed, data, "bmp-fields", $"{name} := {value}");
    }
}
