namespace MobileOne.IO;

/// <summary>Reading a length that a file claims, without trusting the claim with memory.</summary>
internal static class BoundedRead
{
    /// <summary>
    /// Reads up to <paramref name="limit"/> bytes, growing the buffer in step with the data that actually
    /// arrive, so a few bytes claiming gigabytes cost only what they hold. Returns fewer bytes at the end of
    /// the stream; the caller decides whether that is truncation.
    /// </summary>
    public static byte[] UpTo(Stream stream, int limit)
    {
        var buffer = new byte[Math.Min(limit, 1 << 20)];
        int read = 0;
        while (read < limit)
        {
            if (read == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(limit, 2L * buffer.Length));
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        if (read != buffer.Length) Array.Resize(ref buffer, read);
        return buffer;
    }

    /// <summary>The largest configuration file read (a model's or a run's JSON is a few kilobytes).</summary>
    public const int MaxConfigBytes = 1 << 20;

    /// <summary>
    /// The UTF-8 text of a small file such as a JSON configuration, refused with a <see cref="MobileOneException"/>
    /// naming it when it is missing or larger than <paramref name="limit"/> bytes.
    /// </summary>
    public static string SmallText(string path, int limit = MaxConfigBytes)
    {
        if (!File.Exists(path)) throw new MobileOneException($"{path}: no such file");
        using var stream = File.OpenRead(path);
        var bytes = UpTo(stream, limit + 1);
        if (bytes.Length > limit) throw new MobileOneException($"{path}: larger than {limit:N0} bytes; not a configuration file");
        return System.Text.Encoding.UTF8.GetString(bytes);
    }
}
