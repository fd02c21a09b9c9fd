namespace MobileOne.IO;

/// <summary>
/// Writes files so that a crash or a full disk never leaves a half-written file under the final name:
/// the content goes to a temporary file beside the target, is flushed to disk, then renamed over it.
/// Missing parent folders are created.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes the file through <paramref name="write"/>, then renames it into place.</summary>
    public static void Write(string path, Action<Stream> write) => Write(path, write, verify: null);

    /// <summary>
    /// Writes the file through <paramref name="write"/>, hands the complete temporary file to <paramref name="verify"/>,
    /// and renames it into place only when <paramref name="verify"/> returns: a check that throws leaves nothing
    /// under <paramref name="path"/> (and a file already there unchanged).
    /// </summary>
    public static void Write(string path, Action<Stream> write, Action<string>? verify)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = TempPath(full);
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            verify?.Invoke(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>A hidden, unique name beside <paramref name="full"/> (a full path), on the same file system, so that a rename can replace it.</summary>
    internal static string TempPath(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>Writes all bytes atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>Writes text (UTF-8) atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
}
