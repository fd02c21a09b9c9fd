using System.Text.Json;
using System.Text.Json.Serialization;
using MobileOne.Detection;
using MobileOne.Models;

namespace MobileOne.Segmentation;

/// <summary>
/// A segmenter's architecture, as a run folder records it: DeepLabV3 on a named backbone (<c>mobilenet_v3_large</c>,
/// torchvision's reference, or <c>mobileone_s0</c> .. <c>mobileone_s4</c>), the number of classes (the background
/// included when the data set has one), the output stride (16, or 8 for a MobileOne) and whether the FCN auxiliary
/// head is present.
/// </summary>
public sealed record SegmenterConfig(
    [property: JsonPropertyName("backbone")] string Backbone,
    [property: JsonPropertyName("num_classes")] int NumClasses = 21,
    [property: JsonPropertyName("output_stride")] int OutputStride = 16,
    [property: JsonPropertyName("aux")] bool Aux = false)
{
    /// <summary>The reference backbone, as torchvision builds it for DeepLabV3.</summary>
    public const string MobileNetV3Large = DetectorConfig.MobileNetV3Large;

    /// <summary>Every backbone name.</summary>
    public static IReadOnlyList<string> Backbones => DetectorConfig.Backbones;

    /// <summary>Output strides a backbone can run at: 16 and 8 (torchvision's MobileNetV3 is dilated for 16 only).</summary>
    public static IReadOnlyList<int> OutputStrides { get; } = [16, 8];

    /// <summary>ASPP's atrous rates at output stride 16; at 8 they double (DeepLabV3 paper, section 3.3).</summary>
    public static IReadOnlyList<int> BaseRates { get; } = [12, 24, 36];

    /// <summary>The segmenter's name: <c>deeplabv3_mobilenet_v3_large</c> as torchvision calls it, <c>deeplabv3_mobileone_s0</c>, ... (<c>_os8</c> at output stride 8).</summary>
    [JsonIgnore]
    public string Name => $"deeplabv3_{Backbone}{(OutputStride == 8 ? "_os8" : "")}";

    /// <summary>True when the backbone is a MobileOne, whose branches fold.</summary>
    [JsonIgnore]
    public bool Reparameterizable => Backbone.StartsWith("mobileone_", StringComparison.Ordinal);

    /// <summary>The atrous rates of this output stride.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> Rates => BaseRates.Select(r => r * 16 / OutputStride).ToArray();

    /// <summary>The task that <see cref="Task"/> names.</summary>
    public const string SegmentationTask = "segment";

    /// <summary>The task, so that a configuration file says what it configures.</summary>
    [JsonPropertyName("task")]
    public string Task { get; init; } = SegmentationTask;

    /// <summary>Checks the fields; a clear error naming <paramref name="source"/> otherwise.</summary>
    public SegmenterConfig Validate(string source)
    {
        if (!Backbones.Contains(Backbone))
            throw new MobileOneException($"{source}: unknown segmenter backbone '{Backbone}'; known: {string.Join(", ", Backbones)}");
        if (NumClasses is < 1 or > 255)
            throw new MobileOneException($"{source}: a segmenter needs 1 to 255 classes (a mask holds one byte per pixel, 255 meaning ignore), found {NumClasses}");
        if (!OutputStrides.Contains(OutputStride))
            throw new MobileOneException($"{source}: the output stride must be 16 or 8, found {OutputStride}");
        if (!Reparameterizable && OutputStride != 16)
            throw new MobileOneException($"{source}: {Backbone} runs at output stride 16 only, as torchvision dilates it");
        return this;
    }

    /// <summary>
    /// The level of a MobileOne backbone that feeds the auxiliary head: the deepest one at stride 8 before stage 4: stage 2 at
    /// output stride 16 and the dilated stage 3 at output stride 8 (the stride-8 features, as torchvision's MobileNetV3 C2).
    /// </summary>
    public static int MobileOneAuxStage(MobileOneConfig network) =>
        network.FeatureLevels().Select((level, s) => (level, s)).Last(l => l.level.Stride == 8 && l.s < 4).s;

    /// <summary>
    /// A new segmenter with seeded weights (PyTorch's default distributions, <see cref="WeightInit"/>; BatchNorm 1
    /// and 0). With <paramref name="fused"/>, a MobileOne backbone is built in its folded form.
    /// </summary>
    public DeepLabV3 Create(long seed = 0, bool fused = false)
    {
        Validate("the segmenter configuration");
        var model = Reparameterizable
            ? Build(new MobileOneModel(MobileOneVariants.Get(Backbone["mobileone_".Length..]).WithOutputStride(OutputStride), fused))
            : new DeepLabV3(new MobileNetV3DilatedTrunk(Aux), NumClasses, Rates, Aux);
        WeightInit.Reset(model, seed);
        return model;
    }

    /// <summary>The segmenter of this configuration on <paramref name="network"/>, a MobileOne at this output stride whose stages it shares.</summary>
    public DeepLabV3 Build(MobileOneModel network)
    {
        if (network.Config.MaxOutputStride != OutputStride)
            throw new MobileOneException($"the MobileOne runs at output stride {network.Config.MaxOutputStride}, the segmenter at {OutputStride}");
        int[] maps = Aux ? [MobileOneAuxStage(network.Config), 4] : [4];
        return new DeepLabV3(new MobileOneTrunk(network, maps), NumClasses, Rates, Aux);
    }

    /// <summary>The configuration as JSON (<c>model_config.json</c> of a segmentation run).</summary>
    public string ToJson() => Training.TaskConfigJson.Write(this);

    /// <summary>Reads a configuration written by <see cref="ToJson"/>; a clear error naming <paramref name="source"/> otherwise.</summary>
    public static SegmenterConfig FromJson(string json, string source) =>
        Training.TaskConfigJson.Read<SegmenterConfig>(json, source, SegmentationTask, c => c.Task, (c, where) => c.Validate(where), "segmenter");
}
