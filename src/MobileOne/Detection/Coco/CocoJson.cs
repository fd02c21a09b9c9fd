using System.Text.Json;
using MobileOne.IO;

namespace MobileOne.Detection.Coco;

/// <summary>Bounds on what a COCO file may make the readers hold, checked as entries arrive.</summary>
internal sealed record CocoLimits
{
    /// <summary>Most images in an annotation file (COCO's train2017 has 118,287).</summary>
    public int MaxImages { get; init; } = 10_000_000;

    /// <summary>Most categories (COCO has 80).</summary>
    public int MaxCategories { get; init; } = 100_000;

    /// <summary>Most annotations, or detections in a results file (COCO's train2017 has 860,001 annotations).</summary>
    public int MaxObjects { get; init; } = 50_000_000;

    /// <summary>Longest side of an image, in pixels.</summary>
    public int MaxSide { get; init; } = 1 << 20;

    /// <summary>Longest file name or category name, in characters.</summary>
    public int MaxName { get; init; } = 4096;

    /// <summary>The defaults.</summary>
    public static CocoLimits Default { get; } = new();
}

/// <summary>Reads one JSON value; the reader stands on its first token and must be left on its last.</summary>
internal delegate void JsonValueReader(ref Utf8JsonReader reader);

/// <summary>Reads the value of the property <paramref name="name"/>; returns false to have it skipped.</summary>
internal delegate bool JsonPropertyReader(ref Utf8JsonReader reader, string name);

/// <summary>
/// Streaming reading of COCO's JSON files: the file is bounded before it is read, unknown members (and
/// segmentations, which can be most of the file) are skipped without being built, nesting is bounded,
/// and every syntax or type error names the file and the entry.
/// </summary>
internal static class CocoJson
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 32, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Reads the file after checking its size, and runs <paramref name="read"/> on its top-level value.</summary>
    public static void Parse(string path, JsonValueReader read)
    {
        var bytes = ReadBounded(path);
        int start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        try
        {
            var reader = new Utf8JsonReader(bytes.AsSpan(start), Options);
            Next(ref reader, path, "the file");
            read(ref reader);
            if (reader.Read()) throw Error(path, "more than one JSON value");
        }
        catch (JsonException e)
        {
            throw new MobileOneException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {MessageText.Shorten(e.Message, 160)}", e);
        }
    }

    private static byte[] ReadBounded(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"{path}: file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ResourceLimits.Current.CheckTensorBytes(stream.Length, path);
        var bytes = BoundedRead.UpTo(stream, (int)stream.Length);
        if (bytes.Length == 0) throw Error(path, "empty file");
        return bytes;
    }

    /// <summary>An error about <paramref name="path"/>.</summary>
    public static MobileOneException Error(string path, string what) => new($"{path}: {what}");

    /// <summary>Advances to the next token; the end of the data is truncation.</summary>
    public static void Next(ref Utf8JsonReader r, string path, string where)
    {
        if (!r.Read()) throw Error(path, $"{where}: the file ends early (truncated?)");
    }

    /// <summary>Reads an array whose elements are read by <paramref name="element"/>, at most <paramref name="max"/> of them.</summary>
    public static void Array(ref Utf8JsonReader r, string path, string where, int max, JsonValueReader element)
    {
        Expect(ref r, JsonTokenType.StartArray, path, where, "an array");
        int count = 0;
        for (Next(ref r, path, where); r.TokenType != JsonTokenType.EndArray; Next(ref r, path, where))
        {
            if (++count > max) throw Error(path, $"{where}: more than {max:N0} entries");
            element(ref r);
        }
    }

    /// <summary>Reads an object, handing each property to <paramref name="property"/> and skipping those it declines.</summary>
    public static void Object(ref Utf8JsonReader r, string path, string where, JsonPropertyReader property)
    {
        Expect(ref r, JsonTokenType.StartObject, path, where, "an object");
        for (Next(ref r, path, where); r.TokenType != JsonTokenType.EndObject; Next(ref r, path, where))
        {
            var name = r.GetString()!;
            Next(ref r, path, where);
            if (!property(ref r, name)) r.Skip();
        }
    }

    /// <summary>A whole number that fits 64 bits.</summary>
    public static long Int64(ref Utf8JsonReader r, string path, string where, string name) =>
        r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var value)
            ? value
            : throw Error(path, $"{where}: '{name}' must be a whole number");

    /// <summary>A finite number.</summary>
    public static double Number(ref Utf8JsonReader r, string path, string where, string name) =>
        r.TokenType == JsonTokenType.Number && r.TryGetDouble(out var value) && double.IsFinite(value)
            ? value
            : throw Error(path, $"{where}: '{name}' must be a finite number");

    /// <summary>A string of at most <paramref name="max"/> characters.</summary>
    public static string String(ref Utf8JsonReader r, string path, string where, string name, int max)
    {
        if (r.TokenType != JsonTokenType.String) throw Error(path, $"{where}: '{name}' must be a string");
        var text = r.GetString()!;
        return text.Length <= max ? text : throw Error(path, $"{where}: '{name}' is longer than {max:N0} characters");
    }

    /// <summary>A flag written as 0/1 (as COCO does) or as a JSON boolean.</summary>
    public static bool Flag(ref Utf8JsonReader r, string path, string where, string name) => r.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Number when r.TryGetInt32(out var v) && v is 0 or 1 => v == 1,
        _ => throw Error(path, $"{where}: '{name}' must be 0 or 1"),
    };

    /// <summary>A box [x, y, width, height] of four finite numbers.</summary>
    public static CocoBox Box(ref Utf8JsonReader r, string path, string where)
    {
        Expect(ref r, JsonTokenType.StartArray, path, where, "'bbox' as an array [x, y, width, height]");
        Span<double> v = stackalloc double[4];
        int n = 0;
        for (Next(ref r, path, where); r.TokenType != JsonTokenType.EndArray; Next(ref r, path, where))
        {
            if (n == 4) throw Error(path, $"{where}: 'bbox' has more than 4 numbers");
            v[n++] = Number(ref r, path, where, "bbox");
        }
        return n == 4 ? new CocoBox(v[0], v[1], v[2], v[3]) : throw Error(path, $"{where}: 'bbox' has {n} numbers, not 4");
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type, string path, string where, string what)
    {
        if (r.TokenType != type) throw Error(path, $"{where}: expected {what}, found {Describe(r.TokenType)}");
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    /// <summary>A value that must be present, or an error naming the missing member.</summary>
    public static T Required<T>(T? value, string path, string where, string name) where T : struct =>
        value ?? throw Error(path, $"{where}: '{name}' is missing");

    /// <summary>A string that must be present, or an error naming the missing member.</summary>
    public static string Required(string? value, string path, string where, string name) =>
        value ?? throw Error(path, $"{where}: '{name}' is missing");
}
