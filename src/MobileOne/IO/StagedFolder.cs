namespace MobileOne.IO;

/// <summary>
/// Writes a folder of many files as one step: they go to a hidden folder beside the target, which is renamed
/// to the target when all are written. A failure or a crash never leaves a partial folder under the final
/// name, which a reader could not tell from a complete one. The target must be absent or empty.
/// </summary>
public static class StagedFolder
{
    /// <summary>
    /// Refuses a non-empty <paramref name="dir"/> before any work, calls <paramref name="write"/> with the
    /// staging folder, then moves it into place.
    /// </summary>
    public static void Write(string dir, Action<string> write)
    {
        var full = Path.GetFullPath(dir);
        RequireEmpty(full);
        var parent = Path.GetDirectoryName(full) ?? throw new MobileOneException($"{full}: cannot write into the root of the file system");
        Directory.CreateDirectory(parent);
        var staging = AtomicFile.TempPath(full);
        try
        {
            Directory.CreateDirectory(staging);
            write(staging);
            // Directory.Delete without recursion removes only an empty folder: a file that appeared meanwhile stops the move.
            if (Directory.Exists(full)) Directory.Delete(full);
            Directory.Move(staging, full);
        }
        catch
        {
            try { Directory.Delete(staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Throws unless <paramref name="dir"/> is absent or an empty folder.</summary>
    public static void RequireEmpty(string dir)
    {
        if (File.Exists(dir)) throw new MobileOneException($"{dir} is a file; the output must be a new or empty folder");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new MobileOneException($"{dir} is not empty; refusing to write into it (choose a new or empty folder)");
    }
}
