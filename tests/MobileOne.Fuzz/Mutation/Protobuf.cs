namespace MobileOne.Fuzz.Mutation;

/// <summary>
/// One field of a protobuf message in wire format, read without a schema: varints, fixed-width values and
/// length-delimited payloads, the latter parsed as nested messages when they parse cleanly.
/// </summary>
public sealed class PbField
{
    /// <summary>Field number.</summary>
    public int Number { get; set; }

    /// <summary>Wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.</summary>
    public int WireType { get; set; }

    /// <summary>The value of a varint field (fixed fields keep their bytes in <see cref="Bytes"/>).</summary>
    public ulong Varint { get; set; }

    /// <summary>Payload of a length-delimited or fixed field.</summary>
    public byte[] Bytes { get; set; } = [];

    /// <summary>The payload parsed as a message, when it is one; edits go here and are re-encoded.</summary>
    public List<PbField>? Message { get; set; }

    /// <summary>A length prefix to write instead of the true one (a lie), or null.</summary>
    public ulong? ClaimedLength { get; set; }

    /// <summary>A deep copy.</summary>
    public PbField Clone() => new()
    {
        Number = Number, WireType = WireType, Varint = Varint, Bytes = Bytes, ClaimedLength = ClaimedLength,
        Message = Message?.Select(f => f.Clone()).ToList(),
    };
}

/// <summary>Protobuf wire-format reading and writing, with no schema.</summary>
public static class Protobuf
{
    /// <summary>The fields of a message, or null when <paramref name="data"/> is not a well-formed message.</summary>
    public static List<PbField>? Parse(ReadOnlySpan<byte> data, int depth = 0)
    {
        var fields = new List<PbField>();
        int pos = 0;
        while (pos < data.Length)
        {
            if (!TryVarint(data, ref pos, out ulong tag)) return null;
            int number = (int)Math.Min(tag >> 3, int.MaxValue), wire = (int)(tag & 7);
            if (number == 0) return null;
            var field = new PbField { Number = number, WireType = wire };
            switch (wire)
            {
                case 0:
                    if (!TryVarint(data, ref pos, out ulong v)) return null;
                    field.Varint = v;
                    break;
                case 1 or 5:
                    int width = wire == 1 ? 8 : 4;
                    if (pos + width > data.Length) return null;
                    field.Bytes = data.Slice(pos, width).ToArray();
                    pos += width;
                    break;
                case 2:
                    if (!TryVarint(data, ref pos, out ulong length) || length > (ulong)(data.Length - pos)) return null;
                    var payload = data.Slice(pos, (int)length);
                    field.Bytes = payload.ToArray();
                    // Strings such as names rarely parse as messages; when one does, it is re-encoded unchanged.
                    if (depth < 32 && payload.Length > 0) field.Message = Parse(payload, depth + 1);
                    pos += (int)length;
                    break;
                default:
                    return null;
            }
            fields.Add(field);
        }
        return fields;
    }

    private static bool TryVarint(ReadOnlySpan<byte> data, ref int pos, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && pos < data.Length; shift += 7)
        {
            byte b = data[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }

    /// <summary>The wire bytes of a message.</summary>
    public static byte[] Write(IEnumerable<PbField> fields)
    {
        var s = new MemoryStream();
        foreach (var f in fields) Write(s, f);
        return s.ToArray();
    }

    private static void Write(MemoryStream s, PbField f)
    {
        WriteVarint(s, ((ulong)f.Number << 3) | (uint)f.WireType);
        switch (f.WireType)
        {
            case 0:
                WriteVarint(s, f.Varint);
                break;
            case 2:
                var payload = f.Message is not null ? Write(f.Message) : f.Bytes;
                WriteVarint(s, f.ClaimedLength ?? (ulong)payload.Length);
                s.Write(payload);
                break;
            default:
                s.Write(f.Bytes);
                break;
        }
    }

    private static void WriteVarint(MemoryStream s, ulong v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    /// <summary>
    /// Every field of the tree reached by following the field numbers in <paramref name="path"/>
    /// (each but the last must be a nested message).
    /// </summary>
    public static List<PbField> Find(List<PbField> message, params int[] path)
    {
        IEnumerable<PbField> level = message.Where(f => f.Number == path[0]);
        for (int i = 1; i < path.Length; i++)
        {
            int n = path[i];
            level = level.Where(f => f.Message is not null).SelectMany(f => f.Message!.Where(c => c.Number == n));
        }
        return level.ToList();
    }

    /// <summary>Every field of the tree with the list that holds it.</summary>
    public static List<(PbField Field, List<PbField> Owner)> All(List<PbField> message)
    {
        var result = new List<(PbField, List<PbField>)>();
        void Visit(List<PbField> owner)
        {
            foreach (var f in owner)
            {
                result.Add((f, owner));
                if (f.Message is not null) Visit(f.Message);
            }
        }
        Visit(message);
        return result;
    }
}
