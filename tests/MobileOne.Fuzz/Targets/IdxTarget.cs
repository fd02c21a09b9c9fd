using System.Buffers.Binary;
using System.IO.Compression;
using MobileOne.Data;
using MobileOne.Fuzz.Mutation;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// <c>IdxFile.ReadImages</c> or <c>ReadLabels</c> (chosen by the file's magic number, as a caller that
/// looks before it reads would), on plain and gzipped IDX files.
/// </summary>
public sealed class IdxTarget : FuzzTarget
{
    private sealed record Seed(string Name, uint Magic, int[] Dims, byte[] Data, bool Gzip)
    {
        public string Extension => Gzip ? ".idx.gz" : ".idx";
    }

    private static readonly uint[] Magics = [0x801, 0x803, 0x802, 0x804, 0x80f, 0x8ff, 0x800, 0x903, 0xb03, 0xd03, 0xe03, 0x1000803, 0xffffffff, 0];

    private static readonly int[] Dimensions =
        [0, 1, 2, -1, int.MaxValue, int.MinValue, 65536, 65535, 46341, 2_097_152, 1_625, 1 << 30, 1 << 24, 0x7fffffc7, 0x7fffffc8, 60000, 28];

    private List<Seed> seeds = [];

    /// <inheritdoc/>
    public override string Name => "idx";

    /// <inheritdoc/>
    public override void Run(string path)
    {
        if (Magic(path) == 0x801) IdxFile.ReadLabels(path);
        else IdxFile.ReadImages(path);
    }

    // The first four bytes, decompressed if need be; 0 when they cannot be read (ReadImages then refuses the file).
    private static uint Magic(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
            Span<byte> head = stackalloc byte[4];
            return s.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 ? BinaryPrimitives.ReadUInt32BigEndian(head) : 0;
        }
        catch (InvalidDataException)
        {
            return 0;
        }
    }

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        var pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 7)).ToArray();
        var labels = Enumerable.Range(0, 7).Select(i => (byte)(i % 10)).ToArray();
        seeds =
        [
            new("images", 0x803, [3, 4, 5], pixels, false), new("labels", 0x801, [7], labels, false),
            new("images-gz", 0x803, [3, 4, 5], pixels, true), new("labels-gz", 0x801, [7], labels, true),
        ];
        return new FuzzPlan(
            seeds.Select(s => Make(s, Idx(s.Magic, s.Dims, s.Data), "seed", "unchanged")).ToList(),
        [
            new("bytes", 2, Havoc),
            new("magic", 1, MagicMutant),
            new("dimensions", 5, DimensionsMutant),
            new("data-size", 1.5, DataSize),
            new("gzip-stream", 1, GzipStream),
        ]);
    }

    private static byte[] Idx(uint magic, IEnumerable<int> dims, byte[] data)
    {
        var s = new MemoryStream();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, magic);
        s.Write(word);
        foreach (var d in dims)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            s.Write(word);
        }
        s.Write(data);
        return s.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        var s = new MemoryStream();
        using (var gz = new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return s.ToArray();
    }

    private static Mutant Make(Seed seed, byte[] raw, string strategy, string detail) =>
        new(seed.Gzip ? Gzip(raw) : raw, seed.Extension, strategy, $"seed {seed.Name}: {detail}");

    private Mutant Havoc(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = Bytes.Havoc(rng, Idx(seed.Magic, seed.Dims, seed.Data), 0, 4 + 4 * seed.Dims.Length);
        return Make(seed, data, "bytes", detail);
    }

    private Mutant MagicMutant(Random rng)
    {
        var seed = rng.Pick(seeds);
        uint magic = rng.Pick(Magics);
        return Make(seed, Idx(magic, seed.Dims, seed.Data), "magic", $"magic 0x{magic:x}");
    }

    private Mutant DimensionsMutant(Random rng)
    {
        var seed = rng.Pick(seeds);
        var dims = seed.Dims.ToArray();
        int edits = rng.Next(1, dims.Length + 1);
        for (int i = 0; i < edits; i++) dims[rng.Next(dims.Length)] = rng.Pick(Dimensions);
        // Products that are a multiple of 2^64 wrap to exactly zero bytes in 64-bit arithmetic.
        if (dims.Length == 3 && rng.Chance(0.08)) dims = rng.Pick(new[] { new[] { 1 << 22, 1 << 21, 1 << 21 }, [1 << 24, 1 << 24, 1 << 16], [1 << 30, 1 << 30, 1 << 4] });
        // Data as long as the dimensions ask for when that is small, else the seed's (a lie either way round).
        long total = dims.Aggregate(1L, (a, d) => d < 0 ? -1 : a < 0 ? a : Math.Min(a * d, long.MaxValue / 65536));
        byte[] data = total is >= 0 and <= 1 << 20 && rng.Chance(0.5) ? new byte[total] : seed.Data;
        if (rng.Chance(0.15)) data = [];
        return Make(seed, Idx(seed.Magic, dims, data), "dimensions", $"dimensions {string.Join(" x ", dims)}, {data.Length} data bytes") with
        {
            ExpectedRefusal = Unfillable(dims, data.Length) ? Mutant.AnyRefusal : null,
        };
    }

    // Dimensions that are negative or ask for more bytes than the file holds (counted without overflow).
    private static bool Unfillable(IEnumerable<int> dims, long available) =>
        dims.Any(d => d < 0) || dims.Aggregate(System.Numerics.BigInteger.One, (a, d) => a * d) > available;

    private Mutant DataSize(Random rng)
    {
        var seed = rng.Pick(seeds);
        if (rng.Chance(0.3))
        {
            // Fewer dimension words than the magic number promises.
            int keep = rng.Next(seed.Dims.Length);
            return Make(seed, Idx(seed.Magic, seed.Dims.Take(keep), []), "data-size", $"header cut after {keep} dimension(s)") with { ExpectedRefusal = Mutant.AnyRefusal };
        }
        var (data, detail) = Bytes.ResizeTail(seed.Data, rng);
        return Make(seed, Idx(seed.Magic, seed.Dims, data), "data-size", $"data {detail}") with
        {
            ExpectedRefusal = Unfillable(seed.Dims, data.Length) ? Mutant.AnyRefusal : null,
        };
    }

    private Mutant GzipStream(Random rng)
    {
        var seed = rng.Pick(seeds.Where(s => s.Gzip).ToList());
        var (data, detail) = Bytes.Havoc(rng, Gzip(Idx(seed.Magic, seed.Dims, seed.Data)));
        return new Mutant(data, seed.Extension, "gzip-stream", $"seed {seed.Name}: gzip bytes {detail}");
    }
}
