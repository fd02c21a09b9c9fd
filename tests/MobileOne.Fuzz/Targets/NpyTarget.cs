using System.Buffers.Binary;
using System.Text;
using MobileOne.Data;
using MobileOne.Fuzz.Mutation;

namespace MobileOne.Fuzz.Targets;

/// <summary><c>NpyFile.Read</c>: the magic, the version, the header length and the Python-literal header dict.</summary>
public sealed class NpyTarget : FuzzTarget
{
    private sealed record Seed(string Name, string Descr, string Shape, byte[] Data, int Version)
    {
        public byte[] File => Npy(Version, Header(Descr, "False", Shape), Data);
    }

    private static readonly string[] Descrs = ["<f4", "|f4", "<f8", ">f4", "<f2", "<i8", "|O", "<U10", "", "<f4'", "<c8", "|b1", "<f16", "V8"];
    private static readonly string[] Orders = ["True", "False", "1", "None", "false", "'False'", ""];
    private static readonly string[] Shapes =
    [
        "(4611686018427387904, 4)", "(4611686018427387904,)", "(1152921504606846976, 4)", "(2305843009213693952, 2)", "(4294967296, 4294967296)", "(2147483648, 2147483648)", "(2305843009213693952, 8)",
        "(9223372036854775807, 2)", "(18446744073709551616,)", "(-1,)", "(0,)", "(0, 9223372036854775807)", "()", "(1.5,)",
        "('a',)", "(2,3", "2,3", "(2,,3)", "(+2,)", "(3L, 4L)", "(1099511627776,)", "(536870912, 2)", "(1, 1, 1, 1, 0x10)",
    ];

    private List<Seed> seeds = [];

    /// <inheritdoc/>
    public override string Name => "npy";

    /// <inheritdoc/>
    public override void Run(string path) => NpyFile.Read(path).Dispose();

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        seeds =
        [
            new("f4-nchw", "<f4", "(2, 3, 4, 4)", Floats(2 * 3 * 4 * 4, 4), 1),
            new("f8-vector", "<f8", "(5,)", Floats(5, 8), 1),
            new("f4-scalar", "<f4", "()", Floats(1, 4), 1),
            new("f4-v2", "<f4", "(3, 7)", Floats(21, 4), 2),
        ];
        return new FuzzPlan(
            seeds.Select(s => new Mutant(s.File, ".npy", "seed", $"seed {s.Name}")).ToList(),
        [
            new("bytes", 3, Havoc),
            new("header-dict", 6, HeaderDict),
            new("header-length", 1.5, HeaderLength),
            new("data-size", 1.5, DataSize),
        ]);
    }

    private static byte[] Floats(int count, int size)
    {
        var data = new byte[count * size];
        for (int i = 0; i < count; i++)
            if (size == 4) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), i * 0.5f);
            else BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), i * 0.25);
        return data;
    }

    private static string Header(string descr, string order, string shape) => $"{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}";

    // Magic, version, header length (2 bytes in version 1, 4 after), the header padded to 64 bytes, the data.
    private static byte[] Npy(int version, string header, byte[] data, long? claimedLength = null, byte? versionByte = null)
    {
        int prefix = version == 1 ? 10 : 12;
        int padding = (64 - (prefix + header.Length + 1) % 64) % 64;
        var text = Encoding.Latin1.GetBytes(header + new string(' ', padding) + "\n");
        var s = new MemoryStream();
        s.Write([0x93, .. "NUMPY"u8, versionByte ?? (byte)version, 0]);
        long length = claimedLength ?? text.Length;
        if (version == 1) s.Write(BitConverter.GetBytes(unchecked((ushort)length)));
        else s.Write(BitConverter.GetBytes(unchecked((uint)length)));
        s.Write(text);
        s.Write(data);
        return s.ToArray();
    }

    private Mutant Havoc(Random rng)
    {
        var seed = rng.Pick(seeds);
        var file = seed.File;
        // Half the edits go to the header, where the parsing is.
        var (data, detail) = rng.Chance(0.5) ? Bytes.Havoc(rng, file, 0, Math.Min(file.Length, 128)) : Bytes.Havoc(rng, file);
        return new Mutant(data, ".npy", "bytes", $"seed {seed.Name}: {detail}");
    }

    private Mutant HeaderDict(Random rng)
    {
        var seed = rng.Pick(seeds);
        string descr = seed.Descr, order = "False", shape = seed.Shape;
        var notes = new List<string>();
        int edits = rng.Chance(0.3) ? 2 : 1;
        string? rawHeader = null;
        for (int i = 0; i < edits; i++)
        {
            switch (rng.Next(6))
            {
                case 0: descr = rng.Pick(Descrs); notes.Add($"descr '{descr}'"); break;
                case 1: order = rng.Pick(Orders); notes.Add($"fortran_order {order}"); break;
                case 2 or 3: shape = rng.Pick(Shapes); notes.Add($"shape {shape}"); break;
                case 4:
                    int dims = rng.Pick(new[] { 32, 64, 1000, 20_000 });
                    shape = "(" + string.Join(", ", Enumerable.Repeat(rng.Chance(0.5) ? "1" : "2", dims)) + ")";
                    notes.Add($"shape with {dims} dimensions");
                    break;
                default:
                    rawHeader = rng.Pick(new[]
                    {
                        "{}", "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (5,), }",
                        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (5,)}", "{'descr':'<f4','fortran_order':False,'shape':(5,)}",
                        "{'shape': (5,), 'fortran_order': False, 'descr': '<f4'}", "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': '''}",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (" + new string('9', 5000) + ",), }",
                        "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((5,),),),),),),), }",
                    });
                    notes.Add("header " + (rawHeader.Length > 60 ? rawHeader[..60] + "..." : rawHeader));
                    break;
            }
        }
        var header = rawHeader ?? Header(descr, order, shape);
        // A 64 KiB header no longer fits version 1's 16-bit length.
        int version = header.Length > 60_000 ? 2 : seed.Version;
        // No data at all matches a shape whose byte count wraps to zero.
        var data = rng.Next(20) switch
        {
            < 12 => seed.Data,
            < 17 => [],
            _ => new byte[rng.Pick(new[] { 1, 16, 4096 })],
        };
        string? expected = rawHeader is null && order == "False" && Unfillable(descr, shape, data.Length) ? Mutant.AnyRefusal : null;

        return new Mutant(Npy(version, header, data), ".npy", "header-dict", $"seed {seed.Name}: {string.Join(", ", notes)}; {data.Length} data bytes")
        {
            ExpectedRefusal = expected,
        };
    }

    // A float array whose shape (a tuple of whole numbers) asks for more data than there is, counted without overflow.
    private static bool Unfillable(string descr, string shape, long available)
    {
        int size = descr switch { "<f4" or "|f4" => 4, "<f8" => 8, _ => 0 };
        if (size == 0 || !shape.StartsWith('(') || !shape.EndsWith(')')) return false;
        var product = System.Numerics.BigInteger.One;
        foreach (var part in shape[1..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!System.Numerics.BigInteger.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var d)) return false;
            product *= d;
        }
        return product * size > available;
    }

    private Mutant HeaderLength(Random rng)
    {
        var seed = rng.Pick(seeds);
        var header = Header(seed.Descr, "False", seed.Shape);
        if (rng.Chance(0.3))
        {
            byte version = rng.Pick(new byte[] { 0, 1, 2, 3, 4, 255 });
            return new Mutant(Npy(seed.Version, header, seed.Data, versionByte: version), ".npy", "header-length", $"seed {seed.Name}: version byte {version}");
        }
        long claimed = rng.Chance(0.5) ? rng.Pick(new long[] { 0, 1, 9, 0xffff, 0x7fffffff, 0xffffffff, 0x80000000 }) : 64 + rng.Next(-70, 70);
        return new Mutant(Npy(seed.Version, header, seed.Data, claimed), ".npy", "header-length", $"seed {seed.Name}: header length field {claimed}");
    }

    private Mutant DataSize(Random rng)
    {
        var seed = rng.Pick(seeds);
        var (data, detail) = Bytes.ResizeTail(seed.Data, rng);
        return new Mutant(Npy(seed.Version, Header(seed.Descr, "False", seed.Shape), data), ".npy", "data-size", $"seed {seed.Name}: data {detail}")
        {
            ExpectedRefusal = data.Length < seed.Data.Length ? Mutant.AnyRefusal : null,
        };
    }
}
