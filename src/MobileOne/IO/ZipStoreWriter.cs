using System.Buffers.Binary;
using System.Text;

namespace MobileOne.IO;

/// <summary>
/// Writes an uncompressed ("stored") zip archive whose entry data start on 64-byte boundaries, the
/// layout PyTorch's own writer produces so that a reader may memory-map tensors in place.
/// </summary>
public sealed class ZipStoreWriter : IDisposable
{
    private const int Alignment = 64;
    private readonly Stream stream;
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> entries = [];
    private bool finished;

    /// <summary>Starts an archive on a writable stream positioned at its start.</summary>
    public ZipStoreWriter(Stream stream) => this.stream = stream;

    /// <summary>Adds one entry.</summary>
    public void Add(string name, ReadOnlySpan<byte> data)
    {
        if (stream.Position + data.Length > uint.MaxValue - (1 << 20))
            throw new MobileOneException("checkpoint larger than 4 GiB: not supported");
        var nameBytes = Encoding.UTF8.GetBytes(name);
        uint offset = (uint)stream.Position;
        // Pad with an extra field (id 'FB', as PyTorch does) so that the data are aligned.
        long dataStart = offset + 30 + nameBytes.Length + 4;
        int pad = (int)((Alignment - dataStart % Alignment) % Alignment);
        uint crc = Crc32.Compute(data);
        Span<byte> header = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 20);      // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0x0800);  // UTF-8 names
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], 0);       // stored
        BinaryPrimitives.WriteUInt32LittleEndian(header[10..], 0);      // time, date
        BinaryPrimitives.WriteUInt32LittleEndian(header[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(header[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[28..], (ushort)(4 + pad));
        stream.Write(header);
        stream.Write(nameBytes);
        Span<byte> extra = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(extra, 0x4246);
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)pad);
        stream.Write(extra);
        stream.Write(new byte[pad]);
        stream.Write(data);
        entries.Add((nameBytes, crc, (uint)data.Length, offset));
    }

    /// <summary>Writes the central directory; the archive is complete after this.</summary>
    public void Finish()
    {
        if (finished) return;
        finished = true;
        long cdStart = stream.Position;
        Span<byte> h = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in entries)
        {
            h.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0x0800);
            BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)name.Length);
            // extra, comment, disk start, internal attributes, external attributes: all zero
            BinaryPrimitives.WriteUInt32LittleEndian(h[42..], offset);
            stream.Write(h);
            stream.Write(name);
        }
        long cdSize = stream.Position - cdStart;
        Span<byte> end = stackalloc byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)cdStart);
        stream.Write(end);
    }

    /// <summary>Finishes the archive if that was not done.</summary>
    public void Dispose() => Finish();
}
