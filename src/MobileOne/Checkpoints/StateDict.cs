namespace MobileOne.Checkpoints;

/// <summary>An ordered map from parameter names to tensors, as PyTorch's <c>state_dict()</c>.</summary>
public sealed class StateDict : OrderedDictionary<string, CheckpointTensor>
{
    /// <summary>Creates an empty state dict.</summary>
    public StateDict() : base(StringComparer.Ordinal) { }

    /// <summary>Creates a state dict from entries in order.</summary>
    public StateDict(IEnumerable<KeyValuePair<string, CheckpointTensor>> entries) : this()
    {
        foreach (var (k, v) in entries) Add(k, v);
    }
}
