using System.Text.RegularExpressions;
using MobileOne.Models;

namespace MobileOne.Checkpoints;

/// <summary>
/// Reads the architecture off a state dict in Apple's layout: blocks per stage from the block indices,
/// widths from the pointwise kernels, k from the number of conv branches, SE from its keys, the class
/// count from the classifier. A fused checkpoint does not record k.
/// </summary>
public static partial class ConfigInference
{
    /// <summary>What a checkpoint says about the network that produced it.</summary>
    /// <param name="Config">The architecture (k = 1 for a fused checkpoint not matching a named variant).</param>
    /// <param name="Fused">True when the blocks are in inference form (<c>reparam_conv</c>).</param>
    /// <param name="Variant">The named variant with this backbone, if any (s0..s4).</param>
    public sealed record Result(MobileOneConfig Config, bool Fused, string? Variant);

    // ASCII digits only (\d also matches other scripts' digits), and few enough to fit an int: an index
    // beyond that is no MobileOne and is refused by the configuration's own bounds.
    [GeneratedRegex(@"^stage([1-4])\.([0-9]{1,6})\.")]
    private static partial Regex BlockKey();

    [GeneratedRegex(@"^stage1\.0\.rbr_conv\.([0-9]{1,6})\.")]
    private static partial Regex BranchKey();

    /// <summary>
    /// A stage's first depthwise block has a skip branch exactly when it keeps the resolution (stride 1), so
    /// the weights show each stage's stride; the stem's (never a skip: its channels change) stays the default.
    /// </summary>
    private static int[] StageStrides(StateDict apple, IReadOnlyList<int> defaults)
    {
        var strides = defaults.ToArray();
        for (int s = 1; s <= 4; s++) strides[s] = apple.ContainsKey($"stage{s}.0.rbr_skip.weight") ? 1 : 2;
        return strides;
    }

    /// <summary>Infers the architecture; throws <see cref="CheckpointException"/> when the keys do not describe a MobileOne.</summary>
    public static Result Infer(StateDict apple, string source)
    {
        bool fused = apple.Keys.Any(k => k.Contains(".reparam_conv."));
        bool unfused = apple.Keys.Any(k => k.Contains(".rbr_conv."));
        if (fused && unfused)
            throw new CheckpointException($"{source}: the checkpoint mixes fused (reparam_conv) and train-time (rbr_conv) blocks");
        if (!fused && !unfused)
            throw new CheckpointException($"{source}: no MobileOne block weights found (neither reparam_conv nor rbr_conv keys)");
        string kernel = fused ? "reparam_conv.weight" : "rbr_conv.0.conv.weight";

        long[] Shape(string key, int rank)
        {
            if (!apple.TryGetValue(key, out var t))
                throw new CheckpointException($"{source}: missing key '{key}', which every MobileOne checkpoint has");
            if (t.Shape.Length != rank)
                throw new CheckpointException($"{source}: '{key}' has shape {CheckpointTensor.FormatShape(t.Shape)}; a MobileOne's has {rank} dimensions");
            return t.Shape;
        }

        int Count(long value, string what) => value is >= 1 and <= int.MaxValue
            ? (int)value
            : throw new CheckpointException($"{source}: {what} of {value:N0} is not a valid count");

        var blocks = new int[4];
        foreach (var key in apple.Keys)
        {
            var m = BlockKey().Match(key);
            if (m.Success)
            {
                int s = m.Groups[1].Value[0] - '1';
                blocks[s] = Math.Max(blocks[s], int.Parse(m.Groups[2].Value) + 1);
            }
        }
        var widths = new double[4];
        for (int s = 0; s < 4; s++)
        {
            if (blocks[s] == 0 || blocks[s] % 2 != 0)
                throw new CheckpointException($"{source}: stage{s + 1} has {blocks[s]} blocks; a MobileOne stage has depthwise/pointwise pairs");
            var pw = Shape($"stage{s + 1}.{blocks[s] - 1}.{kernel}", 4);
            widths[s] = pw[0] / (double)MobileOneConfig.BaseChannels[s];
        }
        var linear = Shape("linear.weight", 2);
        int branches = fused ? 1 : apple.Keys.Select(x => BranchKey().Match(x)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value) + 1).DefaultIfEmpty(1).Max();
        bool useSe = apple.Keys.Any(x => x.Contains(".se."));
        MobileOneConfig config;
        try
        {
            config = new MobileOneConfig(blocks.Select(b => b / 2).ToArray(), widths, useSe, branches,
                Count(linear[0], "a class count"), Count(Shape($"stage0.{kernel}", 4)[1], "an input channel count"));
        }
        catch (MobileOneException e)
        {
            throw new CheckpointException($"{source}: the checkpoint's shapes do not describe a valid MobileOne ({e.Message})");
        }
        if (!fused)
        {
            // Ablation models lack the scale or skip branches: absent keys where the design has them.
            bool anySkip = config.Stages().SelectMany(b => b).Any(b => b.HasSkip);
            bool scale = apple.Keys.Any(x => x.Contains(".rbr_scale."));
            bool skip = !anySkip || apple.Keys.Any(x => x.Contains(".rbr_skip."));
            if (!scale || !skip) config = config.WithBranches(config.NumConvBranches, scale, skip);
            else config = config.WithInput(config.InChannels, StageStrides(apple, config.Strides));
        }
        var stem = Shape($"stage0.{kernel}", 4);
        if (stem[0] != config.StemChannels)
            throw new CheckpointException($"{source}: stem has {stem[0]} channels, but stage 1 width {config.StageChannels(0)} implies {config.StemChannels}");
        var variant = MobileOneVariants.NameOf(config, ignoreBranches: fused);
        if (fused && variant is not null)
            config = config.WithNumConvBranches(MobileOneVariants.Get(variant).NumConvBranches);
        return new Result(config, fused, variant);
    }
}
