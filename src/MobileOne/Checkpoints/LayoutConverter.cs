using System.Text.RegularExpressions;

namespace MobileOne.Checkpoints;

/// <summary>
/// Renames state-dict keys between the Apple, timm and mmpretrain layouts. The three store the same
/// tensors with the same shapes; Apple's names are the canonical ones inside this library.
/// </summary>
public static partial class LayoutConverter
{
    private sealed record Rule(Regex Pattern, string Replacement);

    private static Rule R(string pattern, string replacement) => new(new Regex(pattern, RegexOptions.CultureInvariant), replacement);

    // Rules apply in order to each key, every match replaced; stage renumbering is handled separately.
    private static readonly Rule[] AppleToTimm =
    [
        R(@"\.rbr_conv\.", ".conv_kxk."), R(@"\.rbr_scale\.", ".conv_scale."), R(@"\.rbr_skip\.", ".identity."),
        R(@"\.se\.reduce\.", ".attn.fc1."), R(@"\.se\.expand\.", ".attn.fc2."), R(@"^linear\.", "head.fc."), R(@"^stage0\.", "stem."),
    ];

    private static readonly Rule[] TimmToApple =
    [
        R(@"\.conv_kxk\.", ".rbr_conv."), R(@"\.conv_scale\.", ".rbr_scale."), R(@"\.identity\.", ".rbr_skip."),
        R(@"\.attn\.fc1\.", ".se.reduce."), R(@"\.attn\.fc2\.", ".se.expand."), R(@"^head\.fc\.", "linear."), R(@"^stem\.", "stage0."),
    ];

    private static readonly Rule[] AppleToMM =
    [
        R(@"\.rbr_conv\.([0-9]+)\.bn\.", ".branch_conv_list.$1.norm."), R(@"\.rbr_conv\.", ".branch_conv_list."),
        R(@"\.rbr_scale\.bn\.", ".branch_scale.norm."), R(@"\.rbr_scale\.", ".branch_scale."), R(@"\.rbr_skip\.", ".branch_norm."),
        R(@"\.reparam_conv\.", ".branch_reparam."), R(@"\.se\.reduce\.", ".se.conv1.conv."), R(@"\.se\.expand\.", ".se.conv2.conv."),
        R(@"^linear\.", "head.fc."), R(@"^(stage[0-9])\.", "backbone.$1."),
    ];

    private static readonly Rule[] MMToApple =
    [
        R(@"\.branch_conv_list\.([0-9]+)\.norm\.", ".rbr_conv.$1.bn."), R(@"\.branch_conv_list\.", ".rbr_conv."),
        R(@"\.branch_scale\.norm\.", ".rbr_scale.bn."), R(@"\.branch_scale\.", ".rbr_scale."), R(@"\.branch_norm\.", ".rbr_skip."),
        R(@"\.branch_reparam\.", ".reparam_conv."), R(@"\.se\.conv1\.conv\.", ".se.reduce."), R(@"\.se\.conv2\.conv\.", ".se.expand."),
        R(@"^head\.fc\.", "linear."), R(@"^backbone\.", ""),
    ];

    [GeneratedRegex(@"^stage([1-9])\.")]
    private static partial Regex AppleStage();

    // At most 4 digits: a stage index beyond that is no MobileOne, and must not overflow int.Parse.
    [GeneratedRegex(@"^stages\.([0-9]{1,4})\.")]
    private static partial Regex TimmStage();

    /// <summary>The layout of a state dict, from its key names.</summary>
    public static CheckpointLayout Detect(IEnumerable<string> keys, string source)
    {
        var list = keys.ToList();
        if (list.Any(k => k.StartsWith("backbone.", StringComparison.Ordinal))) return CheckpointLayout.MMPretrain;
        if (list.Any(k => k.StartsWith("stem.", StringComparison.Ordinal) || k.StartsWith("stages.", StringComparison.Ordinal))) return CheckpointLayout.Timm;
        if (list.Any(k => k.StartsWith("stage0.", StringComparison.Ordinal))) return CheckpointLayout.Apple;
        throw new CheckpointException(
            $"{source}: not a MobileOne checkpoint in a known layout (Apple 'stage0.*', timm 'stem.*'/'stages.*', mmpretrain 'backbone.*'); " +
            $"first keys: {string.Join(", ", list.Take(5).Select(k => IO.MessageText.Shorten(k)))}");
    }

    /// <summary>Apple's name for a key of the given layout.</summary>
    public static string ToApple(string key, CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.Apple => key,
        CheckpointLayout.Timm => Apply(TimmStage().Replace(key, m => $"stage{int.Parse(m.Groups[1].Value) + 1}."), TimmToApple),
        _ => Apply(key, MMToApple),
    };

    /// <summary>The name in <paramref name="layout"/> of an Apple key.</summary>
    public static string FromApple(string key, CheckpointLayout layout) => layout switch
    {
        CheckpointLayout.Apple => key,
        CheckpointLayout.Timm => Apply(AppleStage().Replace(key, m => $"stages.{int.Parse(m.Groups[1].Value) - 1}."), AppleToTimm),
        _ => Apply(key, AppleToMM),
    };

    private static string Apply(string key, Rule[] rules)
    {
        foreach (var rule in rules) key = rule.Pattern.Replace(key, rule.Replacement);
        return key;
    }

    /// <summary>
    /// A state dict renamed to Apple's layout, in Apple's key order (a DataParallel <c>module.</c> prefix
    /// is dropped). Two keys that become one name (<c>module.X</c> beside <c>X</c>, timm's <c>stem.*</c>
    /// beside <c>stage0.*</c>) are refused, naming both.
    /// </summary>
    public static StateDict ToApple(StateDict state, CheckpointLayout layout, string source = "checkpoint")
    {
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<KeyValuePair<string, CheckpointTensor>>(state.Count);
        foreach (var (key, tensor) in state)
        {
            var stripped = key.StartsWith("module.", StringComparison.Ordinal) ? key["module.".Length..] : key;
            var apple = ToApple(stripped, layout);
            if (!origin.TryAdd(apple, key))
                throw new CheckpointException($"{source}: keys '{origin[apple]}' and '{key}' both stand for '{apple}'; the checkpoint is ambiguous");
            entries.Add(new(apple, tensor));
        }
        // Apple registers a block's SE module before its branches.
        return new StateDict(layout == CheckpointLayout.Timm ? MoveWithinBlocks(entries, ".se.", first: true) : entries);
    }

    /// <summary>Moves the keys containing <paramref name="marker"/> to the start or end of their block, keeping all else in order.</summary>
    private static IEnumerable<KeyValuePair<string, CheckpointTensor>> MoveWithinBlocks(
        IEnumerable<KeyValuePair<string, CheckpointTensor>> entries, string marker, bool first) =>
        entries.GroupBy(e => BlockPrefix(e.Key)).SelectMany(block => block.OrderBy(e => e.Key.Contains(marker) == first ? 0 : 1));

    private static string BlockPrefix(string key)
    {
        var parts = key.Split('.');
        return parts[0] is "stages" or "backbone" && parts.Length > 3 ? $"{parts[0]}.{parts[1]}.{parts[2]}."
            : parts[0].StartsWith("stage", StringComparison.Ordinal) && parts.Length > 2 && parts[1].Length > 0 && char.IsAsciiDigit(parts[1][0]) ? $"{parts[0]}.{parts[1]}."
            : parts[0] + ".";
    }

    /// <summary>
    /// A state dict in Apple's layout renamed to <paramref name="layout"/>, in that implementation's key
    /// order (timm registers its attention module after the branches of an unfused block).
    /// </summary>
    public static StateDict FromApple(StateDict state, CheckpointLayout layout)
    {
        var entries = state.Select(kv => new KeyValuePair<string, CheckpointTensor>(FromApple(kv.Key, layout), kv.Value));
        // timm registers the attention module after the branches of a train-time block.
        if (layout == CheckpointLayout.Timm && state.Keys.Any(k => k.Contains(".rbr_conv.")))
            entries = MoveWithinBlocks(entries, ".attn.", first: false);
        return new StateDict(entries);
    }
}
