using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MobileOne.Fuzz.Mutation;

/// <summary>
/// Edits a JSON document at the node level and then at the byte level: any node or property name can be
/// replaced by arbitrary bytes (numbers no parser accepts, invalid UTF-8, nesting 100,000 deep) and any
/// property can be given a duplicate, which a DOM cannot represent. Placeholders go into the DOM and are
/// swapped for the raw bytes after serialization.
/// </summary>
public sealed class JsonSurgery
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly List<byte[]> raws = [];

    /// <summary>Starts from a copy of <paramref name="json"/>.</summary>
    public JsonSurgery(JsonNode json) => Root = json.DeepClone();

    /// <summary>The document being edited.</summary>
    public JsonNode Root { get; }

    /// <summary>Raw values that break number parsers, type expectations and nesting limits.</summary>
    public static readonly IReadOnlyList<string> RawValues =
    [
        "0", "-1", "1", "2", "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "4611686018427387904", "1e308", "1e309", "-1e309", "1.5", "0.1", "-0.0", "1e-400", "100000000",
        "65536", "1" + new string('0', 400), "NaN", "Infinity", "-Infinity", "01", "1e", "--1", "0x10",
        "\"\"", "\"abc\"", "\"3\"", "\"\u0663\"", "\"\\ud800\"", "\"\\u0000\"", "null", "true", "false", "[]", "{}", "[1,2,3]",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    ];

    /// <summary>A placeholder string that serializes to <paramref name="raw"/>.</summary>
    public string Placeholder(byte[] raw)
    {
        raws.Add(raw);
        return $"@@RAW{raws.Count - 1}@@";
    }

    /// <summary>A placeholder for raw text.</summary>
    public string Placeholder(string raw) => Placeholder(Encoding.UTF8.GetBytes(raw));

    /// <summary>A raw value from <see cref="RawValues"/>, deep nesting or invalid UTF-8, with its description.</summary>
    public static (byte[] Raw, string Description) RandomRaw(Random rng)
    {
        switch (rng.Next(10))
        {
            case 0:
                int depth = rng.Pick(new[] { 65, 1000, 100_000 });
                return (Encoding.ASCII.GetBytes(new string('[', depth) + new string(']', depth)), $"arrays nested {depth} deep");
            case 1:
                return ([(byte)'"', 0x61, rng.Pick(new byte[] { 0xff, 0xc0, 0xed, 0x80 }), 0x80, (byte)'"'], "string with invalid UTF-8");
            default:
                var text = rng.Pick(RawValues);
                return (Encoding.UTF8.GetBytes(text), text.Length > 24 ? text[..12] + $"...({text.Length} chars)" : text);
        }
    }

    /// <summary>Every node with a path, its parent and its place in the parent (the root has none).</summary>
    public List<(string Path, JsonNode? Node, JsonNode Parent, string? Property, int Index)> Nodes()
    {
        var list = new List<(string, JsonNode?, JsonNode, string?, int)>();
        void Visit(JsonNode? node, string path)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o.ToList()) { list.Add(($"{path}.{k}", v, o, k, -1)); Visit(v, $"{path}.{k}"); }
                    break;
                case JsonArray a:
                    for (int i = 0; i < a.Count; i++) { list.Add(($"{path}[{i}]", a[i], a, null, i)); Visit(a[i], $"{path}[{i}]"); }
                    break;
            }
        }
        Visit(Root, "$");
        return list;
    }

    /// <summary>Replaces the node at (<paramref name="parent"/>, <paramref name="property"/> or <paramref name="index"/>).</summary>
    public static void Replace(JsonNode parent, string? property, int index, JsonNode? value)
    {
        if (parent is JsonObject o) o[property!] = value;
        else ((JsonArray)parent)[index] = value;
    }

    /// <summary>Adds, after the others, a second property with the same name as <paramref name="property"/> and the given value.</summary>
    public void Duplicate(JsonObject parent, string property, JsonNode? value)
    {
        var name = Placeholder(JsonSerializer.SerializeToUtf8Bytes(property, Options));
        parent[name] = value;
    }

    /// <summary>Renames a property to raw bytes (keeping its position and value).</summary>
    public void RenameRaw(JsonObject parent, string property, byte[] rawName)
    {
        var entries = parent.ToList();
        parent.Clear();
        foreach (var (k, v) in entries)
            parent[k == property ? Placeholder(rawName) : k] = v;
    }

    /// <summary>The document's bytes with every placeholder replaced by its raw bytes.</summary>
    public byte[] Serialize()
    {
        var text = Root.ToJsonString(Options);
        var output = new MemoryStream();
        int pos = 0;
        while (true)
        {
            int at = text.IndexOf("\"@@RAW", pos, StringComparison.Ordinal);
            if (at < 0) break;
            int end = text.IndexOf("@@\"", at + 6, StringComparison.Ordinal);
            output.Write(Encoding.UTF8.GetBytes(text[pos..at]));
            output.Write(raws[int.Parse(text.AsSpan(at + 6, end - at - 6))]);
            pos = end + 3;
        }
        output.Write(Encoding.UTF8.GetBytes(text[pos..]));
        return output.ToArray();
    }
}
