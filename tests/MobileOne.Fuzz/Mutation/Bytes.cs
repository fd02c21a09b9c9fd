using System.Buffers.Binary;

namespace MobileOne.Fuzz.Mutation;

/// <summary>Format-blind mutations of a byte array: bit flips, boundary integers, truncation, splicing.</summary>
public static class Bytes
{
    private static readonly byte[] InterestingBytes = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, (byte)'\'', (byte)'"', (byte)'{', (byte)','];

    /// <summary>
    /// One to a few random edits, optionally concentrated in [<paramref name="from"/>, <paramref name="from"/> + <paramref name="length"/>)
    /// (a header, say); returns the new bytes and what was done.
    /// </summary>
    public static (byte[] Data, string Detail) Havoc(Random rng, byte[] input, int from = 0, int length = -1)
    {
        if (length < 0 || from + length > input.Length) length = input.Length - from;
        var data = input;
        var notes = new List<string>();
        int edits = rng.Next(4) == 0 ? rng.Next(2, 9) : 1;
        for (int i = 0; i < edits; i++)
        {
            // Earlier edits may have shortened the data: draw the position within what is left.
            int span = Math.Min(length, data.Length - from);
            int at = span > 0 ? from + rng.Next(span) : data.Length;
            string note;
            (data, note) = at >= data.Length ? Insert(data, data.Length, rng) : rng.Next(10) switch
            {
                0 or 1 or 2 => FlipBit(data, at, rng),
                3 => SetByte(data, at, rng),
                4 => SetInteger(data, at, rng),
                5 => Truncate(data, rng),
                6 => Delete(data, at, rng),
                7 => Duplicate(data, at, rng),
                8 => Insert(data, at, rng),
                _ => Overwrite(data, at, rng),
            };
            notes.Add(note);
        }
        return (data, string.Join("; ", notes));
    }

    private static (byte[], string) FlipBit(byte[] data, int at, Random rng)
    {
        var copy = (byte[])data.Clone();
        int bit = rng.Next(8);
        copy[at] ^= (byte)(1 << bit);
        return (copy, $"flip bit {bit} of byte {at}");
    }

    private static (byte[], string) SetByte(byte[] data, int at, Random rng)
    {
        var copy = (byte[])data.Clone();
        copy[at] = rng.Pick(InterestingBytes);
        return (copy, $"byte {at} := 0x{copy[at]:x2}");
    }

    private static (byte[], string) SetInteger(byte[] data, int at, Random rng)
    {
        int width = rng.Pick(new[] { 2, 4, 8 });
        if (at + width > data.Length) return SetByte(data, at, rng);
        var copy = (byte[])data.Clone();
        long v = rng.Pick(Interesting.Longs);
        bool big = rng.Chance(0.5);
        var span = copy.AsSpan(at, width);
        switch (width)
        {
            case 2: if (big) BinaryPrimitives.WriteInt16BigEndian(span, (short)v); else BinaryPrimitives.WriteInt16LittleEndian(span, (short)v); break;
            case 4: if (big) BinaryPrimitives.WriteInt32BigEndian(span, (int)v); else BinaryPrimitives.WriteInt32LittleEndian(span, (int)v); break;
            default: if (big) BinaryPrimitives.WriteInt64BigEndian(span, v); else BinaryPrimitives.WriteInt64LittleEndian(span, v); break;
        }
        return (copy, $"{width}-byte {(big ? "BE" : "LE")} integer at {at} := {v}");
    }

    /// <summary>The first bytes only, cut at a random point.</summary>
    public static (byte[], string) Truncate(byte[] data, Random rng)
    {
        int keep = data.Length == 0 ? 0 : rng.Next(data.Length);
        return (data[..keep], $"truncated to {keep} of {data.Length} bytes");
    }

    private static (byte[], string) Delete(byte[] data, int at, Random rng)
    {
        int n = Math.Min(data.Length - at, 1 + rng.Next(rng.Chance(0.5) ? 4 : 256));
        return ([.. data.AsSpan(0, at), .. data.AsSpan(at + n)], $"deleted {n} bytes at {at}");
    }

    private static (byte[], string) Duplicate(byte[] data, int at, Random rng)
    {
        int n = Math.Min(data.Length - at, 1 + rng.Next(rng.Chance(0.5) ? 8 : 512));
        return ([.. data.AsSpan(0, at + n), .. data.AsSpan(at, n), .. data.AsSpan(at + n)], $"duplicated {n} bytes at {at}");
    }

    private static (byte[], string) Insert(byte[] data, int at, Random rng)
    {
        var extra = new byte[1 + rng.Next(16)];
        rng.NextBytes(extra);
        return ([.. data.AsSpan(0, at), .. extra, .. data.AsSpan(at)], $"inserted {extra.Length} random bytes at {at}");
    }

    private static (byte[], string) Overwrite(byte[] data, int at, Random rng)
    {
        var copy = (byte[])data.Clone();
        int n = Math.Min(copy.Length - at, 1 + rng.Next(32));
        rng.NextBytes(copy.AsSpan(at, n));
        return (copy, $"overwrote {n} bytes at {at} with random bytes");
    }

    /// <summary>Data with garbage appended or the end cut, for formats whose length is checked against a header.</summary>
    public static (byte[], string) ResizeTail(byte[] data, Random rng)
    {
        if (rng.Chance(0.5)) return Truncate(data, rng);
        var extra = new byte[1 + rng.Next(rng.Chance(0.5) ? 8 : 4096)];
        rng.NextBytes(extra);
        return ([.. data, .. extra], $"appended {extra.Length} random bytes");
    }
}
