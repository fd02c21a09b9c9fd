using System.Text.RegularExpressions;
using MobileOne.Checkpoints;

namespace MobileOne.Fuzz.Mutation;

/// <summary>
/// Mutations of a checkpoint's content rather than its encoding: keys that collide once a layout is
/// converted, block indices out of range or in other scripts' digits, tensors of the wrong rank, absurd
/// architectures (65,536 channels, millions of classes) and dtype changes. The result is written by the
/// library's own writers, so the file is well-formed and the mutation reaches the model-building code.
/// </summary>
public static partial class StateDictMutator
{
    private static readonly string[] Indices =
        ["39999999999", "2147483647", "2147483648", "4294967296", "99999", "100000", "100000000", "٣", "３", "-1", "00", "1e3", "+1", " 1", "", "0x1"];

    [GeneratedRegex(@"^(?<head>(?:backbone\.)?stages?\.?)(?<stage>\d+)\.(?<block>\d+)\.")]
    private static partial Regex BlockKey();

    /// <summary>A mutated copy of <paramref name="state"/> and what was done.</summary>
    public static (StateDict State, string Detail) Mutate(Random rng, StateDict state)
    {
        var copy = new StateDict(state);
        string detail = rng.Next(7) switch
        {
            0 => Alias(rng, copy),
            1 => BlockIndex(rng, copy),
            2 => WrongRank(rng, copy),
            3 => Absurd(rng, copy),
            4 => DType(rng, copy),
            5 => DropOrAdd(rng, copy),
            _ => Values(rng, copy),
        };
        return (copy, detail);
    }

    // A second name for one tensor that means the same key after the layout is converted.
    private static string Alias(Random rng, StateDict state)
    {
        var key = rng.Pick(state.Keys.ToList());
        string alias = rng.Next(6) switch
        {
            0 => "module." + key,
            1 when key.StartsWith("stage0.", StringComparison.Ordinal) => "stem." + key["stage0.".Length..],
            1 when key.StartsWith("stem.", StringComparison.Ordinal) => "stage0." + key["stem.".Length..],
            2 when Regex.IsMatch(key, @"^stages\.\d") => Regex.Replace(key, @"^stages\.(\d+)\.", m => $"stage{int.Parse(m.Groups[1].Value) + 1}."),
            2 when Regex.IsMatch(key, @"^stage[1-4]\.") => Regex.Replace(key, @"^stage(\d)\.", m => $"stages.{int.Parse(m.Groups[1].Value) - 1}."),
            3 when key.StartsWith("backbone.", StringComparison.Ordinal) => key["backbone.".Length..],
            3 => "backbone." + key,
            4 => key.Replace(".rbr_conv.", ".conv_kxk.").Replace(".conv_kxk.", ".rbr_conv.").Replace(".reparam_conv.", ".branch_reparam."),
            _ => key.StartsWith("module.", StringComparison.Ordinal) ? key["module.".Length..] : "module.module." + key,
        };
        if (alias == key || state.ContainsKey(alias)) alias = "module." + key;
        state[alias] = state[key];
        return $"alias '{alias}' added for '{key}'";
    }

    private static string BlockIndex(Random rng, StateDict state)
    {
        var blocks = state.Keys.Select(k => BlockKey().Match(k)).Where(m => m.Success).ToList();
        if (blocks.Count == 0) return Alias(rng, state);
        var m = rng.Pick(blocks);
        var index = rng.Pick(Indices);
        bool stage = rng.Chance(0.25);
        string prefix = m.Value;
        string renamed = stage
            ? $"{m.Groups["head"].Value}{index}.{m.Groups["block"].Value}."
            : $"{m.Groups["head"].Value}{m.Groups["stage"].Value}.{index}.";
        bool all = rng.Chance(0.5);
        var keys = state.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (!all) keys = [rng.Pick(keys)];
        foreach (var k in keys)
        {
            var t = state[k];
            state.Remove(k);
            state[renamed + k[prefix.Length..]] = t;
        }
        return $"{(all ? "block" : "one key of block")} '{prefix}' renamed to '{renamed}' ({(stage ? "stage" : "block")} index '{index}')";
    }

    private static string WrongRank(Random rng, StateDict state)
    {
        var key = rng.Chance(0.4) && state.ContainsKey("linear.weight") ? "linear.weight" : rng.Pick(state.Keys.ToList());
        var t = state[key];
        long[] shape = rng.Next(4) switch
        {
            0 => [],
            1 => [1],
            2 => [t.NumElements],
            _ => [1, .. t.Shape],
        };
        long count = shape.Aggregate(1L, (a, b) => a * b);
        state[key] = new CheckpointTensor(t.DType, shape, Resize(t.Data, count * t.DType.Size()));
        return $"'{key}' {Format(t.Shape)} -> {Format(shape)}";
    }

    // The shapes that the architecture is read from, set to sizes far beyond any MobileOne.
    private static string Absurd(Random rng, StateDict state)
    {
        var kernels = state.Keys.Where(k => k.EndsWith("conv.weight", StringComparison.Ordinal) || k.EndsWith("reparam.weight", StringComparison.Ordinal)
                                            || k.EndsWith("conv_kxk.0.conv.weight", StringComparison.Ordinal)).ToList();
        var heads = state.Keys.Where(k => k.EndsWith("fc.weight", StringComparison.Ordinal) || k == "linear.weight").ToList();
        var targets = rng.Next(3) switch
        {
            0 when heads.Count > 0 => heads,
            1 => kernels,
            _ => kernels.Count > 0 ? [rng.Pick(kernels)] : heads,
        };
        // Every kernel at once stays at 65,536 so that the file is a few MB, not hundreds.
        long n = targets.Count > 2 ? rng.Pick(new long[] { 65536, 65537 }) : rng.Pick(new long[] { 65536, 65537, 1 << 20, 3_000_000 });
        foreach (var key in targets)
        {
            var t = state[key];
            long[] shape = t.Shape.Length == 2 ? [n, 1] : [n, 1, 1, 1];
            state[key] = new CheckpointTensor(TensorDType.UInt8, shape, new byte[n]);
        }
        return $"{targets.Count} tensor(s) ({string.Join(", ", targets.Take(3))}{(targets.Count > 3 ? ", ..." : "")}) given {n:N0} output channels/classes (uint8)";
    }

    private static string DType(Random rng, StateDict state)
    {
        var key = rng.Pick(state.Keys.ToList());
        var t = state[key];
        var dtype = rng.Pick(Enum.GetValues<TensorDType>());
        var data = new byte[t.NumElements * dtype.Size()];
        rng.NextBytes(data);
        state[key] = new CheckpointTensor(dtype, t.Shape, data);
        return $"'{key}' re-typed {t.DType} -> {dtype} with random bytes";
    }

    private static string DropOrAdd(Random rng, StateDict state)
    {
        if (rng.Chance(0.4))
        {
            var key = rng.Pick(state.Keys.ToList());
            state.Remove(key);
            return $"'{key}' removed";
        }
        var name = rng.Pick(new[] { "", "\0", ".", "stage5.0.x.weight", "stage0", "linear.weight.", new string('k', 70_000), "stage1.0.\u0663.weight", "\ud800" });
        if (state.ContainsKey(name)) return $"'{name}' already present";
        state[name] = new CheckpointTensor(TensorDType.Float32, [1], new byte[4]);
        return $"extra key '{(name.Length > 30 ? name[..10] + $"...({name.Length} chars)" : name)}' added";
    }

    private static string Values(Random rng, StateDict state)
    {
        var key = rng.Pick(state.Keys.ToList());
        var t = state[key];
        var data = (byte[])t.Data.Clone();
        var fill = rng.Pick(new[] { float.NaN, float.PositiveInfinity, -0f, float.MaxValue, 1e-45f });
        if (t.DType == TensorDType.Float32)
            for (int i = 0; i + 4 <= data.Length; i += 4) BitConverter.TryWriteBytes(data.AsSpan(i), fill);
        state[key] = new CheckpointTensor(t.DType, t.Shape, data);
        return $"'{key}' filled with {fill}";
    }

    private static byte[] Resize(byte[] data, long length)
    {
        var result = new byte[length];
        Array.Copy(data, result, Math.Min(data.Length, length));
        return result;
    }

    private static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
