using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace MobileOne.Fuzz.Mutation;

/// <summary>One pickle instruction: its opcode and the raw argument bytes that follow it.</summary>
/// <param name="Code">The opcode byte.</param>
/// <param name="Arg">The argument exactly as encoded (length prefixes included).</param>
public sealed record PickleOp(byte Code, byte[] Arg)
{
    /// <summary>True for the opcodes that push an integer.</summary>
    public bool IsInt => Code is (byte)'K' or (byte)'M' or (byte)'J' or 0x8a or 0x8b or (byte)'I' or (byte)'L';

    /// <summary>The pushed integer of an integer opcode.</summary>
    public BigInteger IntValue => Code switch
    {
        (byte)'K' => Arg[0],
        (byte)'M' => BinaryPrimitives.ReadUInt16LittleEndian(Arg),
        (byte)'J' => BinaryPrimitives.ReadInt32LittleEndian(Arg),
        0x8a => new BigInteger(Arg.AsSpan(1), isUnsigned: false, isBigEndian: false),
        0x8b => new BigInteger(Arg.AsSpan(4), isUnsigned: false, isBigEndian: false),
        _ => BigInteger.Parse(Encoding.ASCII.GetString(Arg).TrimEnd('\n', 'L'), CultureInfo.InvariantCulture),
    };

    /// <summary>The text of a string opcode (BINUNICODE and friends), else null.</summary>
    public string? Text => Code switch
    {
        (byte)'X' or (byte)'T' => Encoding.UTF8.GetString(Arg.AsSpan(4)),
        0x8c or (byte)'U' => Encoding.UTF8.GetString(Arg.AsSpan(1)),
        _ => null,
    };
}

/// <summary>
/// Splits a pickle into instructions and joins them again, and encodes the instructions the mutators
/// insert. Knows the argument layout of every opcode of protocols 0-5; an unknown opcode ends the parse
/// and the rest is kept as raw bytes.
/// </summary>
public static class Pickle
{
    /// <summary>Instructions of <paramref name="data"/>, and whatever could not be parsed.</summary>
    public static (List<PickleOp> Ops, byte[] Tail) Parse(byte[] data)
    {
        var ops = new List<PickleOp>();
        int pos = 0;
        while (pos < data.Length)
        {
            int argLength = ArgLength(data, pos);
            if (argLength < 0 || pos + 1 + argLength > data.Length) break;
            ops.Add(new PickleOp(data[pos], data.AsSpan(pos + 1, argLength).ToArray()));
            pos += 1 + argLength;
        }
        return (ops, data[pos..]);
    }

    /// <summary>The bytes of the instructions followed by <paramref name="tail"/>.</summary>
    public static byte[] Join(IEnumerable<PickleOp> ops, byte[]? tail = null)
    {
        var s = new MemoryStream();
        foreach (var op in ops)
        {
            s.WriteByte(op.Code);
            s.Write(op.Arg);
        }
        if (tail is not null) s.Write(tail);
        return s.ToArray();
    }

    // Length of the argument of the opcode at data[pos], or -1 when unknown or cut off.
    private static int ArgLength(byte[] data, int pos)
    {
        int a = pos + 1;
        int Prefixed(int width)
        {
            if (a + width > data.Length) return -1;
            long n = width switch
            {
                1 => data[a],
                4 => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(a)),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(a)), int.MaxValue),
            };
            return n > data.Length ? -1 : width + (int)n;
        }
        int Lines(int count)
        {
            int end = a;
            for (int i = 0; i < count; i++)
            {
                end = Array.IndexOf(data, (byte)'\n', end);
                if (end < 0) return -1;
                end++;
            }
            return end - a;
        }
        return data[pos] switch
        {
            (byte)'(' or (byte)'.' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or (byte)')' or (byte)']' or (byte)'}'
                or (byte)'t' or (byte)'l' or (byte)'d' or (byte)'a' or (byte)'e' or (byte)'s' or (byte)'u' or (byte)'R' or (byte)'b'
                or (byte)'o' or (byte)'Q' or 0x81 or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91 or 0x92 or 0x93
                or 0x94 or 0x97 or 0x98 => 0,
            0x80 or (byte)'K' or (byte)'q' or (byte)'h' => 1,
            (byte)'M' => 2,
            (byte)'J' or (byte)'r' or (byte)'j' => 4,
            0x95 or (byte)'G' => 8,
            (byte)'U' or (byte)'C' or 0x8c or 0x8a => Prefixed(1),
            (byte)'X' or (byte)'T' or (byte)'B' or 0x8b => Prefixed(4),
            0x8d or 0x8e or 0x96 => Prefixed(8),
            (byte)'c' or (byte)'i' => Lines(2),
            (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'P' or (byte)'p' or (byte)'g' => Lines(1),
            _ => -1,
        };
    }

    /// <summary>The shortest instruction pushing <paramref name="v"/> (BININT1, BININT or LONG1).</summary>
    public static PickleOp Int(BigInteger v)
    {
        if (v >= 0 && v < 256) return new PickleOp((byte)'K', [(byte)v]);
        if (v >= int.MinValue && v <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return new PickleOp((byte)'J', b);
        }
        var bytes = v.ToByteArray(isUnsigned: false, isBigEndian: false);
        return new PickleOp(0x8a, [(byte)bytes.Length, .. bytes]);
    }

    /// <summary>BINUNICODE of <paramref name="s"/>.</summary>
    public static PickleOp Str(string s) => Str(Encoding.UTF8.GetBytes(s));

    /// <summary>BINUNICODE with arbitrary (possibly invalid UTF-8) bytes.</summary>
    public static PickleOp Str(byte[] utf8)
    {
        var arg = new byte[4 + utf8.Length];
        BinaryPrimitives.WriteInt32LittleEndian(arg, utf8.Length);
        utf8.CopyTo(arg, 4);
        return new PickleOp((byte)'X', arg);
    }

    /// <summary>GLOBAL <paramref name="module"/>.<paramref name="name"/>.</summary>
    public static PickleOp Global(string module, string name) => new((byte)'c', Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    /// <summary>INST <paramref name="module"/>.<paramref name="name"/> (protocol 0 object construction).</summary>
    public static PickleOp Inst(string module, string name) => new((byte)'i', Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    /// <summary>An opcode without argument.</summary>
    public static PickleOp Op(char code) => new((byte)code, []);

    /// <summary>An opcode without argument, by byte value.</summary>
    public static PickleOp Op(byte code) => new(code, []);

    /// <summary>BINPUT / BINGET of a one-byte memo index.</summary>
    public static PickleOp Memo(char code, byte index) => new((byte)code, [index]);
}
