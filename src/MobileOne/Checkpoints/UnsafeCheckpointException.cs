namespace MobileOne.Checkpoints;

/// <summary>
/// A pickle that would run or construct Python objects beyond what a tensor state dict needs:
/// refused, never executed.
/// </summary>
public sealed class UnsafeCheckpointException : CheckpointException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeCheckpointException(string message) : base(message) { }
}
