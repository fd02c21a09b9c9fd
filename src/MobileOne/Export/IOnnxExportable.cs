namespace MobileOne.Export;

/// <summary>
/// A module whose forward pass is more than its children in order (a residual add, a channel shuffle,
/// a pooled classifier): it writes its own ONNX nodes, using <see cref="OnnxModuleEmitter"/> for its children.
/// </summary>
internal interface IOnnxExportable
{
    /// <summary>Appends the module's nodes reading <paramref name="input"/>; returns the output value's name.</summary>
    string EmitOnnx(OnnxGraphBuilder g, string name, string input);
}
