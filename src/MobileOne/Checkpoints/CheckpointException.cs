namespace MobileOne.Checkpoints;

/// <summary>A checkpoint file that cannot be read or does not fit the model; the message says why.</summary>
public class CheckpointException : MobileOneException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message) : base(message) { }

    /// <summary>Creates the exception with its low-level cause.</summary>
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}
