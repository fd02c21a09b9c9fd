namespace MobileOne.IO;

/// <summary>Text from a file, made fit for a one-line error message.</summary>
internal static class MessageText
{
    /// <summary>
    /// <paramref name="text"/> cut to at most <paramref name="max"/> characters, ending in "..." when cut: a
    /// hostile file's names and headers can be megabytes long.
    /// </summary>
    public static string Shorten(string text, int max = 80) => text.Length <= max ? text : text[..(max - 3)] + "...";
}
