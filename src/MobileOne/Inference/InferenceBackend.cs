namespace MobileOne.Inference;

/// <summary>Which runtime executes a model.</summary>
public enum InferenceBackend
{
    /// <summary>ONNX Runtime (the fast path on CPU).</summary>
    Onnx,
    /// <summary>TorchSharp eager execution.</summary>
    Torch,
}
