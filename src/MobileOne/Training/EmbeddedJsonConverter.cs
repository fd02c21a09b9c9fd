using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobileOne.Training;

/// <summary>
/// Writes a string that holds a JSON object (the model configuration) as that object, so config.json
/// reads as one document; reads either the object or, as run folders written before, a string.
/// </summary>
internal sealed class EmbeddedJsonConverter : JsonConverter<string>
{
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return reader.GetString()!;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"expected a JSON object or a string, found {reader.TokenType}");
        using var doc = JsonDocument.ParseValue(ref reader);
        return doc.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (value.Length == 0)
        {
            writer.WriteStringValue(value);
            return;
        }
        using var doc = JsonDocument.Parse(value);
        doc.RootElement.WriteTo(writer);
    }
}
