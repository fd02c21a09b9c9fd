using System.Globalization;

namespace MobileOne.Cli.Commands;

/// <summary>Parses "224" or "256x192" (height x width).</summary>
internal static class InputSize
{
    public static (int Height, int Width) Parse(string text)
    {
        var parts = text.ToLowerInvariant().Split('x');
        bool ok = parts.Length is 1 or 2;
        var values = new int[parts.Length];
        for (int i = 0; ok && i < parts.Length; i++)
            ok = int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) && values[i] > 0;
        if (!ok) throw new MobileOneException($"--input-size: expected N or HxW with positive integers, found '{text}'");
        return parts.Length == 1 ? (values[0], values[0]) : (values[0], values[1]);
    }
}
