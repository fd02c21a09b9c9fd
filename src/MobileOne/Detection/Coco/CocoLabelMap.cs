namespace MobileOne.Detection.Coco;

/// <summary>
/// Contiguous training labels for COCO's category ids, which need not be consecutive (COCO's own run
/// 1..90 with gaps): label 0 is the background, labels 1..K the categories in ascending id order.
/// </summary>
public sealed class CocoLabelMap
{
    /// <summary>Label 0, the background (no category).</summary>
    public const int Background = 0;

    private readonly long[] _categoryIds;
    private readonly Dictionary<long, int> _labels;

    internal CocoLabelMap(IEnumerable<long> categoryIds)
    {
        _categoryIds = categoryIds.Order().ToArray();
        _labels = new Dictionary<long, int>(_categoryIds.Length);
        for (int i = 0; i < _categoryIds.Length; i++) _labels.Add(_categoryIds[i], i + 1);
    }

    /// <summary>The number of categories, K (labels run 1..K).</summary>
    public int Count => _categoryIds.Length;

    /// <summary>The category ids in label order: <c>CategoryIds[label - 1]</c>.</summary>
    public IReadOnlyList<long> CategoryIds => _categoryIds;

    /// <summary>The label of a category id.</summary>
    /// <exception cref="MobileOneException">The id is not a category of the data set.</exception>
    public int LabelOf(long categoryId) =>
        _labels.TryGetValue(categoryId, out var label) ? label : throw new MobileOneException($"category id {categoryId} is not a category of the data set");

    /// <summary>Whether <paramref name="categoryId"/> is a category of the data set.</summary>
    public bool Contains(long categoryId) => _labels.ContainsKey(categoryId);

    /// <summary>The category id of a label in 1..K.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label is the background or above K.</exception>
    public long CategoryOf(int label)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(label, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(label, Count);
        return _categoryIds[label - 1];
    }
}
