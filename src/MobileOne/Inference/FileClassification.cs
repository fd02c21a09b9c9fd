namespace MobileOne.Inference;

/// <summary>What became of one image file given to <see cref="ImageClassifier.ClassifyFiles"/>.</summary>
/// <param name="Path">The file, as given.</param>
/// <param name="Predictions">Its top-k classes; null when it could not be classified.</param>
/// <param name="Error">Why it could not be read, decoded or preprocessed, naming the file; null on success.</param>
public sealed record FileClassification(string Path, IReadOnlyList<Prediction>? Predictions, string? Error)
{
    /// <summary>True when the file was classified.</summary>
    public bool Succeeded => Predictions is not null;
}
