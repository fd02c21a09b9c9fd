namespace MobileOne.Checkpoints;

/// <summary>File formats a checkpoint can be read from and written to.</summary>
public enum CheckpointFormat
{
    /// <summary>PyTorch's <c>torch.save</c> zip format (<c>.pth</c>, <c>.pth.tar</c>, <c>.pt</c>).</summary>
    Pth,
    /// <summary>safetensors.</summary>
    Safetensors,
}
