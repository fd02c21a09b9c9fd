using System.Text.Json;
using System.Text.Json.Serialization;

namespace MobileOne.Training;

/// <summary>
/// One flat JSON object per epoch, as plotting tools like it: <c>train_</c>, <c>val_</c> and <c>ema_val_</c>
/// prefix the task's metric names (e.g. <c>val_top1</c>), beside the recipe's fields.
/// </summary>
internal sealed class EpochMetricsJson : JsonConverter<EpochMetrics>
{
    private const string Train = "train_", Val = "val_", EmaVal = "ema_val_";

    // ema_val_ before val_: the longer prefix wins.
    private static readonly string[] Prefixes = [EmaVal, Train, Val];

    public override void Write(Utf8JsonWriter w, EpochMetrics m, JsonSerializerOptions options)
    {
        w.WriteStartObject();
        w.WriteNumber("epoch", m.Epoch);
        w.WriteNumber("step", m.Step);
        WriteSet(w, Train, m.Train);
        WriteSet(w, Val, m.Val);
        if (m.EmaVal is not null) WriteSet(w, EmaVal, m.EmaVal);
        w.WriteNumber("learning_rate", m.LearningRate);
        w.WriteNumber("weight_decay", m.WeightDecay);
        w.WriteNumber("image_size", m.ImageSize);
        w.WriteNumber("seconds", m.Seconds);
        w.WriteNumber("images_per_second", m.ImagesPerSecond);
        w.WriteEndObject();
    }

    private static void WriteSet(Utf8JsonWriter w, string prefix, MetricSet set)
    {
        foreach (var (name, value) in set) w.WriteNumber(prefix + name, value);
    }

    public override EpochMetrics Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("an epoch is a JSON object");
        var scalars = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var sets = new Dictionary<string, List<KeyValuePair<string, double>>> { [Train] = [], [Val] = [], [EmaVal] = [] };
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var prefix = Prefixes.FirstOrDefault(x => p.Name.StartsWith(x, StringComparison.Ordinal) && p.Name.Length > x.Length);
            if (prefix is null) scalars[p.Name] = p.Value;
            else sets[prefix].Add(KeyValuePair.Create(p.Name[prefix.Length..], p.Value.GetDouble()));
        }
        JsonElement Get(string name) => scalars.TryGetValue(name, out var v) ? v : throw new JsonException($"missing '{name}'");
        if (sets[Train].Count == 0 || sets[Val].Count == 0) throw new JsonException("no training or validation metrics");
        return new EpochMetrics(Get("epoch").GetInt32(), Get("step").GetInt64(), new MetricSet(sets[Train]), new MetricSet(sets[Val]),
            sets[EmaVal].Count == 0 ? null : new MetricSet(sets[EmaVal]), Get("learning_rate").GetDouble(), Get("weight_decay").GetDouble(),
            Get("image_size").GetInt32(), Get("seconds").GetDouble(), Get("images_per_second").GetDouble());
    }
}
