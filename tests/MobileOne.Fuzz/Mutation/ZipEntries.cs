using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MobileOne.Fuzz.Mutation;

/// <summary>A zip archive as a list of named records, rebuilt with valid checksums after a record is changed.</summary>
public static class ZipEntries
{
    /// <summary>The records of a (valid) archive, in order.</summary>
    public static List<(string Name, byte[] Data)> Read(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        var list = new List<(string, byte[])>();
        foreach (var e in archive.Entries)
        {
            using var s = e.Open();
            var buffer = new MemoryStream();
            s.CopyTo(buffer);
            list.Add((e.FullName, buffer.ToArray()));
        }
        return list;
    }

    /// <summary>
    /// A new archive of the records, each stored or deflated as <paramref name="deflate"/> says; System.IO.Compression
    /// computes every CRC and size, so the result passes the reader's checksum test and mutations reach the parser.
    /// </summary>
    public static byte[] Build(IEnumerable<(string Name, byte[] Data)> entries, Func<string, bool> deflate)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true, Encoding.UTF8))
        {
            foreach (var (name, data) in entries)
            {
                var entry = archive.CreateEntry(name, deflate(name) ? CompressionLevel.Fastest : CompressionLevel.NoCompression);
                using var s = entry.Open();
                s.Write(data);
            }
        }
        return output.ToArray();
    }
}

/// <summary>
/// The byte positions of a zip archive's headers (end of central directory, central directory entries and
/// local headers), for mutations of the fields that a rebuild would recompute: sizes, offsets, counts.
/// </summary>
public sealed class ZipLayout
{
    /// <summary>A header field: where it is, how wide, and what it is.</summary>
    /// <param name="Offset">Position in the archive.</param>
    /// <param name="Width">2 or 4 bytes, little-endian.</param>
    /// <param name="Name">Field name with its record, for the reproducer's note.</param>
    public sealed record Field(int Offset, int Width, string Name);

    /// <summary>A record's header positions.</summary>
    /// <param name="Name">Record name.</param>
    /// <param name="Central">Start of its central directory entry.</param>
    /// <param name="Local">Start of its local header (-1 when the central entry points outside the file).</param>
    /// <param name="CompressedSize">Compressed size from the central directory.</param>
    public sealed record Entry(string Name, int Central, int Local, uint CompressedSize);

    private ZipLayout(int eocd, List<Entry> entries)
    {
        EndOfDirectory = eocd;
        Entries = entries;
    }

    /// <summary>Start of the end-of-central-directory record.</summary>
    public int EndOfDirectory { get; }

    /// <summary>The records, in directory order.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>The layout of a well-formed archive, or null when its directory cannot be found.</summary>
    public static ZipLayout? Parse(byte[] zip)
    {
        int eocd = -1;
        for (int i = zip.Length - 22; i >= Math.Max(0, zip.Length - 22 - 65535); i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x06054b50) { eocd = i; break; }
        if (eocd < 0) return null;
        int count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(eocd + 10));
        long at = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(eocd + 16));
        var entries = new List<Entry>();
        for (int i = 0; i < count && at + 46 <= zip.Length; i++)
        {
            var h = zip.AsSpan((int)at);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != 0x02014b50) break;
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extra = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]), comment = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            var name = Encoding.UTF8.GetString(zip, (int)at + 46, Math.Min(nameLength, zip.Length - (int)at - 46));
            entries.Add(new Entry(name, (int)at, local + 30 <= zip.Length ? (int)local : -1, BinaryPrimitives.ReadUInt32LittleEndian(h[20..])));
            at += 46 + nameLength + extra + comment;
        }
        return new ZipLayout(eocd, entries);
    }

    /// <summary>Every size, offset, count and method field of the archive.</summary>
    public IReadOnlyList<Field> Fields()
    {
        var fields = new List<Field>
        {
            new(EndOfDirectory + 4, 2, "EOCD disk number"), new(EndOfDirectory + 8, 2, "EOCD entries on disk"),
            new(EndOfDirectory + 10, 2, "EOCD total entries"), new(EndOfDirectory + 12, 4, "EOCD directory size"),
            new(EndOfDirectory + 16, 4, "EOCD directory offset"), new(EndOfDirectory + 20, 2, "EOCD comment length"),
        };
        foreach (var e in Entries)
        {
            fields.AddRange(
            [
                new(e.Central + 6, 2, $"central '{e.Name}' version needed"), new(e.Central + 8, 2, $"central '{e.Name}' flags"),
                new(e.Central + 10, 2, $"central '{e.Name}' method"), new(e.Central + 20, 4, $"central '{e.Name}' compressed size"),
                new(e.Central + 24, 4, $"central '{e.Name}' uncompressed size"), new(e.Central + 28, 2, $"central '{e.Name}' name length"),
                new(e.Central + 30, 2, $"central '{e.Name}' extra length"), new(e.Central + 42, 4, $"central '{e.Name}' local header offset"),
            ]);
            if (e.Local >= 0)
                fields.AddRange(
                [
                    new(e.Local + 6, 2, $"local '{e.Name}' flags"), new(e.Local + 8, 2, $"local '{e.Name}' method"),
                    new(e.Local + 18, 4, $"local '{e.Name}' compressed size"), new(e.Local + 22, 4, $"local '{e.Name}' uncompressed size"),
                    new(e.Local + 26, 2, $"local '{e.Name}' name length"), new(e.Local + 28, 2, $"local '{e.Name}' extra length"),
                ]);
        }
        return fields;
    }

    /// <summary>A copy of <paramref name="zip"/> with <paramref name="field"/> set to <paramref name="value"/> (truncated to its width).</summary>
    public static byte[] Patch(byte[] zip, Field field, uint value)
    {
        var copy = (byte[])zip.Clone();
        if (field.Width == 2) BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(field.Offset), (ushort)value);
        else BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(field.Offset), value);
        return copy;
    }

    /// <summary>A copy of <paramref name="zip"/> whose record <paramref name="entry"/> claims <paramref name="size"/> uncompressed bytes in both headers.</summary>
    public static byte[] ClaimSize(byte[] zip, Entry entry, uint size)
    {
        var copy = (byte[])zip.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(entry.Central + 24), size);
        if (entry.Local >= 0) BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(entry.Local + 22), size);
        return copy;
    }
}
