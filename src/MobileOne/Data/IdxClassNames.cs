using System.Text;
using MobileOne.IO;

namespace MobileOne.Data;

/// <summary>
/// An IDX folder's <see cref="IdxFolder.ClassNamesFile"/>: the class names in label order, one per line, UTF-8
/// (a final newline and CRLF line ends allowed). The file may come from anywhere, so it is bounded and
/// checked: at most <see cref="MaxBytes"/> bytes and <see cref="MaxClasses"/> names (labels are one byte),
/// each 1 to <see cref="MaxNameLength"/> characters without control characters, none twice.
/// </summary>
public static class IdxClassNames
{
    /// <summary>Largest file accepted.</summary>
    public const int MaxBytes = 64 << 10;

    /// <summary>Most names: an IDX label is one byte.</summary>
    public const int MaxClasses = 256;

    /// <summary>Longest name, in UTF-16 characters.</summary>
    public const int MaxNameLength = 200;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads and checks the file; throws <see cref="MobileOneException"/> naming it and the problem.</summary>
    public static IReadOnlyList<string> Read(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length > MaxBytes) throw new MobileOneException($"{path}: {file.Length:N0} bytes; a class names file holds at most {MaxBytes:N0}");
        var bytes = BoundedRead.UpTo(file, MaxBytes);
        string text;
        try { text = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw new MobileOneException($"{path}: not UTF-8 text"); }
        var names = text.Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        if (names.Count > 1 && names[^1].Length == 0) names.RemoveAt(names.Count - 1); // the final newline
        Check(names, path);
        return names;
    }

    /// <summary>Writes the names, one per line, atomically; they must pass the checks that <see cref="Read"/> makes.</summary>
    public static void Write(string path, IReadOnlyList<string> names)
    {
        Check(names, path);
        AtomicFile.WriteAllText(path, string.Concat(names.Select(n => n + "\n")));
    }

    private static void Check(IReadOnlyList<string> names, string path)
    {
        if (names.Count > MaxClasses) throw new MobileOneException($"{path}: {names.Count:N0} class names; IDX labels are one byte, so at most {MaxClasses}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            var name = names[i];
            string where = $"{path}: line {i + 1}";
            if (name.Length == 0) throw new MobileOneException($"{where} is empty; every class needs a name");
            if (name.Length > MaxNameLength) throw new MobileOneException($"{where}: a class name of {name.Length:N0} characters (at most {MaxNameLength})");
            if (name.Any(char.IsControl)) throw new MobileOneException($"{where}: the class name '{MessageText.Shorten(Printable(name))}' holds a control character");
            if (!seen.Add(name)) throw new MobileOneException($"{where}: the class name '{MessageText.Shorten(name)}' appears twice");
        }
    }

    private static string Printable(string name) => new(name.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
