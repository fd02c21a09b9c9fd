namespace MobileOne.Data;

/// <summary>The first samples of each class up to a total, in a deterministic, class-balanced order.</summary>
public sealed class DatasetSubset : IImageDataset
{
    private readonly IImageDataset source;
    private readonly int[] indices;

    /// <summary>Takes up to <paramref name="count"/> samples, balanced over classes (round robin).</summary>
    public DatasetSubset(IImageDataset source, int count)
    {
        this.source = source;
        var byClass = Enumerable.Range(0, source.Count).GroupBy(source.Label).OrderBy(g => g.Key).Select(g => new Queue<int>(g)).ToList();
        var chosen = new List<int>(Math.Min(count, source.Count));
        while (chosen.Count < count && byClass.Any(q => q.Count > 0))
            foreach (var q in byClass)
                if (q.Count > 0 && chosen.Count < count) chosen.Add(q.Dequeue());
        indices = chosen.Order().ToArray();
        Description = $"{indices.Length:N0} of {source.Description}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => indices.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames => source.ClassNames;

    /// <inheritdoc/>
    public int Label(int index) => source.Label(indices[index]);

    /// <inheritdoc/>
    public RgbImage Image(int index) => source.Image(indices[index]);
}
