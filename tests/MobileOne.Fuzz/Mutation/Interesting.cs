using System.Numerics;

namespace MobileOne.Fuzz.Mutation;

/// <summary>Boundary values that break size arithmetic: zero, one, sign flips, and the edges of 8/16/32/64-bit types.</summary>
public static class Interesting
{
    /// <summary>Integers at the edges of common types, and powers of two whose products wrap.</summary>
    public static readonly IReadOnlyList<BigInteger> Integers =
    [
        0, 1, -1, 2, 3, 7, 255, 256, 65535, 65536, 100_000, 1_000_000, 100_000_000,
        int.MaxValue, (BigInteger)int.MaxValue + 1, uint.MaxValue, (BigInteger)uint.MaxValue + 1, (BigInteger)uint.MaxValue + 2,
        BigInteger.Pow(2, 53), BigInteger.Pow(2, 61), BigInteger.Pow(2, 62), long.MaxValue, (BigInteger)long.MaxValue + 1,
        ulong.MaxValue, (BigInteger)ulong.MaxValue + 1, int.MinValue, long.MinValue, -65536,
    ];

    /// <summary>Values that fit a signed 64-bit field.</summary>
    public static readonly IReadOnlyList<long> Longs = Integers.Where(v => v >= long.MinValue && v <= long.MaxValue).Select(v => (long)v).ToArray();

    /// <summary>Values that fit an unsigned 32-bit field (two's complement for the negative ones).</summary>
    public static readonly IReadOnlyList<uint> UInt32s = Integers.Where(v => v >= int.MinValue && v <= uint.MaxValue).Select(v => unchecked((uint)(long)v)).Distinct().ToArray();

    /// <summary>An integer near <paramref name="original"/> or at a boundary, with a description of the choice.</summary>
    public static BigInteger Near(Random rng, BigInteger original) => rng.Next(6) switch
    {
        0 => original + 1,
        1 => original - 1,
        2 => original * 2,
        3 => -original,
        4 => original << rng.Next(8, 62),
        _ => rng.Pick(Integers),
    };

    /// <summary>Mostly a boundary value, sometimes one near the original.</summary>
    public static BigInteger Any(Random rng, BigInteger original) => rng.Chance(0.7) ? rng.Pick(Integers) : Near(rng, original);

    /// <summary>Strings that break number parsers and name matching.</summary>
    public static readonly IReadOnlyList<string> Strings =
    [
        "", " ", "abc", "NaN", "nan", "Infinity", "-Infinity", "inf", "1e39", "-1e39", "1e309", "1e-400", "-0", "0x10", "1,5", "٣", "３",
        "1 2", "\0", "\u202e", "%n%n%n", "../../../../etc/passwd", "null", "true", "[]", "{}", new string('9', 400), new string('a', 70_000),
    ];
}
