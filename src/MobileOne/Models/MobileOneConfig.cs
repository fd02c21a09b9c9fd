using System.Globalization;
using System.Text.Json;

namespace MobileOne.Models;

/// <summary>
/// The architecture of a MobileOne network (paper, Table 7): blocks per stage, width multipliers,
/// Squeeze-Excite, the number k of over-parameterised conv branches, and the class count. The
/// property names mirror the arguments of Apple's <c>MobileOne</c> constructor.
/// </summary>
public sealed class MobileOneConfig : IEquatable<MobileOneConfig>
{
    /// <summary>Channel counts of the four stages before the width multipliers are applied.</summary>
    public static readonly IReadOnlyList<int> BaseChannels = [64, 128, 256, 512];

    /// <summary>Most block pairs a stage may have (the paper's deepest stage has 10).</summary>
    public const int MaxBlocksPerStage = 128;

    /// <summary>Ratio of the Squeeze-Excite bottleneck to its input channels (Apple's <c>rd_ratio</c>).</summary>
    public const double SqueezeExciteRatio = 0.0625;

    /// <summary>Creates and validates a configuration.</summary>
    public MobileOneConfig(
        IReadOnlyList<int> numBlocksPerStage,
        IReadOnlyList<double> widthMultipliers,
        bool useSe = false,
        int numConvBranches = 1,
        int numClasses = 1000,
        int inChannels = 3,
        IReadOnlyList<int>? strides = null,
        bool useScaleBranch = true,
        bool useSkipBranch = true,
        int outputStride = 32)
    {
        MaxOutputStride = outputStride;
        UseScaleBranch = useScaleBranch;
        UseSkipBranch = useSkipBranch;
        NumBlocksPerStage = numBlocksPerStage.ToArray();
        WidthMultipliers = widthMultipliers.ToArray();
        UseSe = useSe;
        NumConvBranches = numConvBranches;
        NumClasses = numClasses;
        InChannels = inChannels;
        Strides = (strides ?? DefaultStrides).ToArray();
        Validate();
    }

    /// <summary>The reference's downsampling: stride 2 in the stem and at the start of every stage.</summary>
    public static readonly IReadOnlyList<int> DefaultStrides = [2, 2, 2, 2, 2];

    /// <summary>Number of depthwise/pointwise block pairs in each of the four stages.</summary>
    public IReadOnlyList<int> NumBlocksPerStage { get; }

    /// <summary>Width multipliers a1..a4 of the four stages.</summary>
    public IReadOnlyList<double> WidthMultipliers { get; }

    /// <summary>Whether the last half of stage 3 and all of stage 4 carry Squeeze-Excite (S4).</summary>
    public bool UseSe { get; }

    /// <summary>Number k of kxk conv+BN branches in every block but the stem.</summary>
    public int NumConvBranches { get; }

    /// <summary>Number of output classes of the linear head.</summary>
    public int NumClasses { get; }

    /// <summary>Input image channels (3 for RGB; 1 for grayscale data such as Fashion-MNIST).</summary>
    public int InChannels { get; }

    /// <summary>
    /// Strides of the stem and of the first block of each stage (output stride = their product, 32 by
    /// default). Small inputs such as 28x28 use 1 for some of them; a checkpoint does not record this.
    /// </summary>
    public IReadOnlyList<int> Strides { get; }

    /// <summary>Whether blocks with kernels larger than 1 have the 1x1 scale branch (the paper's design; off for ablations).</summary>
    public bool UseScaleBranch { get; }

    /// <summary>Whether blocks with equal input and output shapes have the BatchNorm skip branch (off for ablations).</summary>
    public bool UseSkipBranch { get; }

    /// <summary>Output strides the dilation of the last stages can give (torchvision's DeepLabV3 convention).</summary>
    public static readonly IReadOnlyList<int> SupportedOutputStrides = [8, 16, 32];

    /// <summary>
    /// The largest output stride allowed (8, 16 or 32; JSON <c>output_stride</c>). Stages whose downsampling
    /// would exceed it run at stride 1 with dilated 3x3 convolutions instead: at 16, stage 4 with dilation 2;
    /// at 8, stage 3 with dilation 2 and stage 4 with dilation 4. The weights are those of the undilated network.
    /// </summary>
    public int MaxOutputStride { get; }

    /// <summary>Total downsampling from input to the last feature map, after any dilation.</summary>
    public int OutputStride => StageLayout().Aggregate(1, (a, l) => a * l.Stride);

    /// <summary>
    /// The stride and dilation of the stem and of each stage: a stage's stride is removed, and its dilation
    /// multiplied by it, once the running stride would exceed <see cref="MaxOutputStride"/>.
    /// </summary>
    public IReadOnlyList<(int Stride, int Dilation)> StageLayout()
    {
        var layout = new (int, int)[Strides.Count];
        int total = 1, dilation = 1;
        for (int s = 0; s < Strides.Count; s++)
        {
            int stride = Strides[s];
            if (total * stride > MaxOutputStride)
            {
                dilation *= stride;
                stride = 1;
            }
            total *= stride;
            layout[s] = (stride, dilation);
        }
        return layout;
    }

    /// <summary>
    /// The feature-pyramid levels (stem, then stages 1-4) with their channels and strides, known without
    /// running the network.
    /// </summary>
    public IReadOnlyList<FeatureLevel> FeatureLevels()
    {
        var layout = StageLayout();
        var levels = new List<FeatureLevel>(layout.Count);
        int stride = 1;
        for (int s = 0; s < layout.Count; s++)
        {
            stride *= layout[s].Stride;
            levels.Add(new FeatureLevel(FeatureLevel.NameOf(s), s == 0 ? StemChannels : StageChannels(s - 1), stride, layout[s].Dilation));
        }
        return levels;
    }

    /// <summary>Output channels of the stem: min(64, int(64 * a1)).</summary>
    public int StemChannels => Math.Min(64, StageChannels(0));

    /// <summary>Output channels of stage <paramref name="stage"/> (0-based): int(base * a).</summary>
    public int StageChannels(int stage) => (int)(BaseChannels[stage] * WidthMultipliers[stage]);

    /// <summary>
    /// Number of block pairs at the end of a stage that use Squeeze-Excite: half of stage 3 and all of
    /// stage 4 when <see cref="UseSe"/> is set, as in Apple's reference.
    /// </summary>
    public int SeBlocksInStage(int stage) => !UseSe ? 0 : stage switch
    {
        2 => NumBlocksPerStage[2] / 2,
        3 => NumBlocksPerStage[3],
        _ => 0,
    };

    /// <summary>
    /// The blocks of the network, stage by stage (index 0 is the stem, then stages 1-4): each stage a
    /// list of depthwise 3x3 / pointwise 1x1 block pairs, the first depthwise block of a stage with
    /// stride 2, Squeeze-Excite on the last <see cref="SeBlocksInStage"/> pairs.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<MobileOneBlockSpec>> Stages()
    {
        var layout = StageLayout();
        var stages = new List<IReadOnlyList<MobileOneBlockSpec>>
        {
            // The stem has a single conv branch whatever k is; it is never dilated (output stride 8 at least).
            new[] { new MobileOneBlockSpec(InChannels, StemChannels, 3, Strides[0], 1, 1, false, UseScaleBranch, UseSkipBranch) },
        };
        int inPlanes = StemChannels;
        for (int s = 0; s < 4; s++)
        {
            int planes = StageChannels(s), n = NumBlocksPerStage[s], withSe = SeBlocksInStage(s);
            var (stride, dilation) = layout[s + 1];
            bool strideRemoved = stride < Strides[s + 1];
            var blocks = new List<MobileOneBlockSpec>();
            for (int i = 0; i < n; i++)
            {
                bool se = i >= n - withSe;
                blocks.Add(new MobileOneBlockSpec(inPlanes, inPlanes, 3, i == 0 ? stride : 1, inPlanes, NumConvBranches, se, UseScaleBranch, UseSkipBranch,
                    dilation, i == 0 && strideRemoved));
                blocks.Add(new MobileOneBlockSpec(inPlanes, planes, 1, 1, 1, NumConvBranches, se, UseScaleBranch, UseSkipBranch));
                inPlanes = planes;
            }
            stages.Add(blocks);
        }
        return stages;
    }

    /// <summary>A copy with another class count.</summary>
    public MobileOneConfig WithNumClasses(int numClasses) =>
        new(NumBlocksPerStage, WidthMultipliers, UseSe, NumConvBranches, numClasses, InChannels, Strides, UseScaleBranch, UseSkipBranch, MaxOutputStride);

    /// <summary>A copy with another number of conv branches.</summary>
    public MobileOneConfig WithNumConvBranches(int k) =>
        new(NumBlocksPerStage, WidthMultipliers, UseSe, k, NumClasses, InChannels, Strides, UseScaleBranch, UseSkipBranch, MaxOutputStride);

    /// <summary>A copy with other input channels and strides.</summary>
    public MobileOneConfig WithInput(int inChannels, IReadOnlyList<int> strides) =>
        new(NumBlocksPerStage, WidthMultipliers, UseSe, NumConvBranches, NumClasses, inChannels, strides, UseScaleBranch, UseSkipBranch, MaxOutputStride);

    /// <summary>A copy with the scale and skip branches on or off (the paper's ablation of over-parameterisation).</summary>
    public MobileOneConfig WithBranches(int k, bool scale, bool skip) =>
        new(NumBlocksPerStage, WidthMultipliers, UseSe, k, NumClasses, InChannels, Strides, scale, skip, MaxOutputStride);

    /// <summary>A copy with another largest output stride (8, 16 or 32; see <see cref="MaxOutputStride"/>).</summary>
    public MobileOneConfig WithOutputStride(int outputStride) =>
        new(NumBlocksPerStage, WidthMultipliers, UseSe, NumConvBranches, NumClasses, InChannels, Strides, UseScaleBranch, UseSkipBranch, outputStride);

    /// <summary>Refuses an output stride other than 8, 16 or 32.</summary>
    public static void CheckOutputStride(int outputStride)
    {
        if (!SupportedOutputStrides.Contains(outputStride))
            throw new MobileOneException($"output_stride must be 8, 16 or 32, found {outputStride}");
    }

    private void Validate()
    {
        if (NumBlocksPerStage.Count != 4)
            throw new MobileOneException($"num_blocks_per_stage must have 4 entries, found {NumBlocksPerStage.Count}");
        if (WidthMultipliers.Count != 4)
            throw new MobileOneException($"width_multipliers must have 4 entries, found {WidthMultipliers.Count}");
        for (int i = 0; i < 4; i++)
        {
            if (NumBlocksPerStage[i] < 1 || NumBlocksPerStage[i] > MaxBlocksPerStage)
                throw new MobileOneException($"num_blocks_per_stage[{i}] must be between 1 and {MaxBlocksPerStage}, found {NumBlocksPerStage[i]}");
            if (!(WidthMultipliers[i] > 0) || double.IsInfinity(WidthMultipliers[i]) || StageChannels(i) < 1 || StageChannels(i) > 65536)
                throw new MobileOneException(
                    $"width_multipliers[{i}] = {WidthMultipliers[i].ToString(CultureInfo.InvariantCulture)} gives {StageChannels(i)} channels; " +
                    $"it must give between 1 and 65536 channels (base {BaseChannels[i]})");
            if (SeBlocksInStage(i) > 0 && (int)(StageChannels(i) * SqueezeExciteRatio) < 1)
                throw new MobileOneException(
                    $"use_se needs at least 16 channels in stage {i + 1} (found {StageChannels(i)}): the Squeeze-Excite bottleneck would be empty");
        }
        if (NumConvBranches < 1 || NumConvBranches > 64)
            throw new MobileOneException($"num_conv_branches must be between 1 and 64, found {NumConvBranches}");
        if (NumClasses < 1)
            throw new MobileOneException($"num_classes must be at least 1, found {NumClasses}");
        if (InChannels < 1 || InChannels > 64)
            throw new MobileOneException($"in_channels must be between 1 and 64, found {InChannels}");
        if (Strides.Count != 5 || Strides.Any(st => st is not (1 or 2)))
            throw new MobileOneException($"strides must be 5 values of 1 or 2 (stem, stages 1-4), found [{string.Join(", ", Strides)}]");
        CheckOutputStride(MaxOutputStride);
    }

    /// <summary>
    /// Reads a configuration from JSON: either the explicit fields (<c>num_blocks_per_stage</c>,
    /// <c>width_multipliers</c>, <c>use_se</c>, <c>num_conv_branches</c>, <c>num_classes</c>) or a
    /// <c>variant</c> name with an optional <c>num_classes</c>, as in the fixtures' <c>config</c> objects.
    /// </summary>
    public static MobileOneConfig FromJson(string json, string source = "config")
    {
        try { return Parse(json, source); }
        catch (Exception e) when (e is not MobileOneException and (FormatException or InvalidOperationException or ArgumentException or OverflowException))
        {
            // A configuration can come from anywhere: whatever else a malformed one provokes is reported as such.
            throw new MobileOneException($"{source}: invalid configuration ({e.Message})", e);
        }
    }

    private static MobileOneConfig Parse(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new MobileOneException($"{source}: not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new MobileOneException($"{source}: expected a JSON object, found {root.ValueKind}");
            // A whole fixture file wraps the configuration in "config".
            if (root.TryGetProperty("config", out var inner) && inner.ValueKind == JsonValueKind.Object)
                root = inner;
            string[] known = ["variant", "num_blocks_per_stage", "width_multipliers", "use_se", "num_conv_branches", "num_classes", "inference_mode", "in_channels", "strides", "use_scale_branch", "use_skip_branch", "output_stride"];
            foreach (var p in root.EnumerateObject())
                if (!known.Contains(p.Name))
                    throw new MobileOneException($"{source}: unknown key '{p.Name}'; expected some of: {string.Join(", ", known)}");

            int? classes = root.TryGetProperty("num_classes", out var nc) ? ReadInt(nc, source, "num_classes") : null;
            int inChannels = root.TryGetProperty("in_channels", out var ic) ? ReadInt(ic, source, "in_channels") : 3;
            int[]? strides = root.TryGetProperty("strides", out var st) ? ReadArray(st, source, "strides", e => ReadInt(e, source, "strides")) : null;
            bool ReadBool(string key) => !root.TryGetProperty(key, out var b) || (b.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? b.GetBoolean() : throw new MobileOneException($"{source}: '{key}' must be true or false, found {b.ValueKind}"));
            bool scaleBranch = ReadBool("use_scale_branch"), skipBranch = ReadBool("use_skip_branch");
            int outputStride = root.TryGetProperty("output_stride", out var os) ? ReadInt(os, source, "output_stride") : 32;
            if (root.TryGetProperty("variant", out var v))
            {
                if (v.ValueKind != JsonValueKind.String)
                    throw new MobileOneException($"{source}: 'variant' must be a string such as \"s0\"");
                foreach (var other in new[] { "num_blocks_per_stage", "width_multipliers", "use_se", "num_conv_branches" })
                    if (root.TryGetProperty(other, out _))
                        throw new MobileOneException($"{source}: give either 'variant' or '{other}', not both");
                var named = MobileOneVariants.Get(v.GetString()!);
                named = classes is int c ? named.WithNumClasses(c) : named;
                named = inChannels != 3 || strides is not null ? named.WithInput(inChannels, strides ?? DefaultStrides) : named;
                named = scaleBranch && skipBranch ? named : named.WithBranches(named.NumConvBranches, scaleBranch, skipBranch);
                return outputStride == 32 ? named : named.WithOutputStride(outputStride);
            }
            if (!root.TryGetProperty("width_multipliers", out var widths))
                throw new MobileOneException($"{source}: missing key 'width_multipliers' (or give a 'variant')");
            bool useSe = false;
            if (root.TryGetProperty("use_se", out var se))
            {
                if (se.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw new MobileOneException($"{source}: 'use_se' must be true or false, found {se.ValueKind}");
                useSe = se.GetBoolean();
            }
            int k = root.TryGetProperty("num_conv_branches", out var kb) ? ReadInt(kb, source, "num_conv_branches") : 1;
            // Apple's default depth, shared by S0-S4.
            int[] blocks = root.TryGetProperty("num_blocks_per_stage", out var b)
                ? ReadArray(b, source, "num_blocks_per_stage", e => ReadInt(e, source, "num_blocks_per_stage"))
                : [2, 8, 10, 1];
            return new MobileOneConfig(
                blocks,
                ReadArray(widths, source, "width_multipliers", e => e.ValueKind == JsonValueKind.Number
                    ? e.GetDouble()
                    : throw new MobileOneException($"{source}: 'width_multipliers' must hold numbers, found {e.ValueKind}")),
                useSe, k, classes ?? 1000, inChannels, strides, scaleBranch, skipBranch, outputStride);
        }
    }

    /// <summary>Reads a configuration from a JSON file (see <see cref="FromJson"/>).</summary>
    public static MobileOneConfig FromJsonFile(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"config file not found: {path}");
        return FromJson(IO.BoundedRead.SmallText(path), path);
    }

    private static int ReadInt(JsonElement e, string source, string key) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var i)
            ? i
            : throw new MobileOneException($"{source}: '{key}' must be an integer, found {e.GetRawText()}");

    private static T[] ReadArray<T>(JsonElement e, string source, string key, Func<JsonElement, T> read) =>
        e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().Select(read).ToArray()
            : throw new MobileOneException($"{source}: '{key}' must be an array, found {e.ValueKind}");

    /// <summary>The configuration as the JSON object that <see cref="FromJson"/> reads.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["num_blocks_per_stage"] = NumBlocksPerStage,
        ["width_multipliers"] = WidthMultipliers,
        ["use_se"] = UseSe,
        ["num_conv_branches"] = NumConvBranches,
        ["num_classes"] = NumClasses,
        ["in_channels"] = InChannels,
        ["strides"] = Strides,
        ["use_scale_branch"] = UseScaleBranch,
        ["use_skip_branch"] = UseSkipBranch,
        ["output_stride"] = MaxOutputStride,
    });

    /// <inheritdoc/>
    public bool Equals(MobileOneConfig? other) =>
        other is not null
        && NumBlocksPerStage.SequenceEqual(other.NumBlocksPerStage)
        && WidthMultipliers.SequenceEqual(other.WidthMultipliers)
        && UseSe == other.UseSe
        && NumConvBranches == other.NumConvBranches
        && NumClasses == other.NumClasses
        && InChannels == other.InChannels
        && Strides.SequenceEqual(other.Strides)
        && UseScaleBranch == other.UseScaleBranch
        && UseSkipBranch == other.UseSkipBranch
        && MaxOutputStride == other.MaxOutputStride;

    /// <summary>Equal up to the class count and the number of conv branches (which a fused model does not show).</summary>
    public bool SameBackbone(MobileOneConfig other, bool ignoreBranches) =>
        NumBlocksPerStage.SequenceEqual(other.NumBlocksPerStage)
        && Enumerable.Range(0, 4).All(i => StageChannels(i) == other.StageChannels(i))
        && UseSe == other.UseSe
        && InChannels == other.InChannels
        && Strides.SequenceEqual(other.Strides)
        && (ignoreBranches || (NumConvBranches == other.NumConvBranches && UseScaleBranch == other.UseScaleBranch && UseSkipBranch == other.UseSkipBranch));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as MobileOneConfig);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(NumBlocksPerStage.Sum(), WidthMultipliers.Sum(), UseSe, NumConvBranches, NumClasses);

    /// <inheritdoc/>
    public override string ToString()
    {
        var name = MobileOneVariants.NameOf(this);
        var widths = string.Join(", ", WidthMultipliers.Select(w => w.ToString(CultureInfo.InvariantCulture)));
        return $"{(name is null ? "" : name.ToUpperInvariant() + ": ")}blocks [{string.Join(", ", NumBlocksPerStage)}], " +
               $"widths [{widths}], k={NumConvBranches}, SE={(UseSe ? "yes" : "no")}, classes={NumClasses}" +
               (InChannels != 3 ? $", in_channels={InChannels}" : "") +
               (Strides.SequenceEqual(DefaultStrides) ? "" : $", strides [{string.Join(", ", Strides)}]") +
               (UseScaleBranch ? "" : ", no scale branch") + (UseSkipBranch ? "" : ", no skip branch") +
               (MaxOutputStride == 32 ? "" : $", output stride {MaxOutputStride}");
    }
}
