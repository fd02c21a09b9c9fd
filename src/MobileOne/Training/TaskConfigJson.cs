using System.Text.Json;

namespace MobileOne.Training;

/// <summary>
/// The <c>model_config.json</c> of a task's run (a detector's, a segmenter's): indented JSON with a <c>task</c> field
/// that says what it configures, read back with every failure as a <see cref="MobileOneException"/> naming the file.
/// </summary>
public static class TaskConfigJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The configuration as indented JSON.</summary>
    public static string Write<T>(T config) => JsonSerializer.Serialize(config, Indented);

    /// <summary>
    /// Reads a <typeparamref name="T"/> whose task (<paramref name="taskOf"/>) must be <paramref name="task"/>, then
    /// checks it with <paramref name="validate"/>; "not a <paramref name="what"/> configuration" otherwise.
    /// </summary>
    public static T Read<T>(string json, string source, string task, Func<T, string> taskOf, Func<T, string, T> validate, string what) where T : class
    {
        try
        {
            var config = JsonSerializer.Deserialize<T>(json) ?? throw new JsonException("empty");
            if (taskOf(config) != task) throw new JsonException($"task '{taskOf(config)}', not '{task}'");
            return validate(config, source);
        }
        catch (JsonException e)
        {
            throw new MobileOneException($"{source}: not a {what} configuration ({e.Message})");
        }
    }
}
