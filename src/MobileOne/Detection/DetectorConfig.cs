using System.Text.Json;
using System.Text.Json.Serialization;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// A detector's architecture, as a run folder records it: SSDLite on a named backbone (<c>mobilenet_v3_large</c>,
/// the reference, or <c>mobileone_s0</c> .. <c>mobileone_s4</c>), the number of classes with the background, and
/// the square input size.
/// </summary>
public sealed record DetectorConfig(
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("num_classes")] int NumClasses = 91,
    [property: JsonPropertyName("image_size")] int ImageSize = 320)
{
    /// <summary>The reference backbone, as torchvision builds it for SSDLite.</summary>
    public const string MobileNetV3Large = "mobilenet_v3_large";

    /// <summary>Every backbone name.</summary>
    public static IReadOnlyList<string> Backbones { get; } = [MobileNetV3Large, .. MobileOneVariants.Names.Select(v => "mobileone_" + v)];

    /// <summary>The detector's name: <c>ssdlite320_mobilenet_v3_large</c> as torchvision calls it, <c>ssdlite_mobileone_s0</c>, ...</summary>
    [JsonIgnore]
    public string Name => Backbone == MobileNetV3Large && ImageSize == 320 ? "ssdlite320_mobilenet_v3_large" : $"ssdlite{ImageSize}_{Backbone}";

    /// <summary>True when the backbone is a MobileOne, whose branches fold.</summary>
    [JsonIgnore]
    public bool Reparameterizable => Backbone.StartsWith("mobileone_", StringComparison.Ordinal);

    /// <summary>Checks the fields; a clear error naming <paramref name="source"/> otherwise.</summary>
    public DetectorConfig Validate(string source)
    {
        if (!Backbones.Contains(Backbone))
            throw new MobileOneException($"{source}: unknown detector backbone '{Backbone}'; known: {string.Join(", ", Backbones)}");
        if (NumClasses is < 2 or > 10_000)
            throw new MobileOneException($"{source}: a detector needs 2 to 10000 classes (the background included), found {NumClasses}");
        if (Categories.Count != 0 && Categories.Count != NumClasses - 1)
            throw new MobileOneException($"{source}: {Categories.Count} categories named for {NumClasses - 1} classes");
        if (Categories.Any(c => c?.Name is null || c.Name.Length > 1000))
            throw new MobileOneException($"{source}: a category without a name, or with a name over 1,000 characters");
        if (ImageSize is < 32 or > 2048)
            throw new MobileOneException($"{source}: the detector's input size must be 32 to 2048 pixels, found {ImageSize}");
        return this;
    }

    /// <summary>
    /// A new detector with seeded weights: the backbone with its network's own initialisation (MobileNetV3 with
    /// torchvision's N(0, 0.03) for a detector trained from scratch), the extra layers and heads N(0, 0.03).
    /// With <paramref name="fused"/>, a MobileOne backbone is built in its folded form.
    /// </summary>
    public SsdLite Create(long seed = 0, bool fused = false)
    {
        Validate("the detector configuration");
        FeatureTrunk trunk = Reparameterizable
            ? new MobileOneTrunk(new MobileOneModel(MobileOneVariants.Get(Backbone["mobileone_".Length..]), fused))
            : new MobileNetV3Trunk();
        var detector = new SsdLite(trunk, NumClasses);
        detector.Initialize(seed);
        return detector;
    }

    /// <summary>The configuration as JSON (<c>model_config.json</c> of a detection run).</summary>
    public string ToJson() => Training.TaskConfigJson.Write(this);

    /// <summary>Reads a configuration written by <see cref="ToJson"/>; a clear error naming <paramref name="source"/> otherwise.</summary>
    public static DetectorConfig FromJson(string json, string source) =>
        Training.TaskConfigJson.Read<DetectorConfig>(json, source, DetectionTask, c => c.Task, (c, where) => c.Validate(where), "detector");

    /// <summary>
    /// The data set's categories in label order (label 1 is the first): their COCO ids and names, so that a trained
    /// detector reports what it finds as its data named it. Empty for a detector made without data.
    /// </summary>
    [JsonPropertyName("categories")]
    public IReadOnlyList<DetectorCategory> Categories { get; init; } = [];

    /// <summary>The name of <paramref name="label"/> (1..K): the category's, or "class N" when the configuration has none.</summary>
    public string LabelName(int label) => label >= 1 && label <= Categories.Count ? Categories[label - 1].Name : $"class {label}";

    /// <summary>The COCO category id of <paramref name="label"/>: the category's, or the label itself when the configuration has none.</summary>
    public long CategoryId(int label) => label >= 1 && label <= Categories.Count ? Categories[label - 1].Id : label;

    /// <summary>The task that <see cref="Task"/> names.</summary>
    public const string DetectionTask = "detect";

    /// <summary>The task, so that a configuration file says what it configures.</summary>
    [JsonPropertyName("task")]
    public string Task { get; init; } = DetectionTask;
}

/// <summary>A category a detector was trained on: its COCO id and name.</summary>
public sealed record DetectorCategory([property: JsonPropertyName("id")] long Id, [property: JsonPropertyName("name")] string Name);
