namespace MobileOne.Inference;

/// <summary>One of the top-k classes for an image.</summary>
/// <param name="ClassIndex">Index of the class in the classifier's output.</param>
/// <param name="Label">Human-readable class name.</param>
/// <param name="Probability">Softmax probability.</param>
public sealed record Prediction(int ClassIndex, string Label, float Probability);
