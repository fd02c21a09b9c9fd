using System.Collections;

namespace MobileOne.Training;

/// <summary>Named metrics in a fixed order (e.g. loss, top1, top5); the names are the task's.</summary>
public sealed class MetricSet : IReadOnlyList<KeyValuePair<string, double>>
{
    private readonly List<KeyValuePair<string, double>> items;

    /// <summary>Creates the set; names must be distinct.</summary>
    public MetricSet(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        items = metrics.ToList();
        if (items.Select(kv => kv.Key).Distinct(StringComparer.Ordinal).Count() != items.Count)
            throw new ArgumentException("metric names must be distinct", nameof(metrics));
    }

    /// <summary>Creates the set from (name, value) pairs.</summary>
    public MetricSet(params (string Name, double Value)[] metrics) : this(metrics.Select(m => KeyValuePair.Create(m.Name, m.Value))) { }

    /// <summary>The value of <paramref name="name"/>.</summary>
    public double this[string name] => TryGet(name, out var v) ? v : throw new KeyNotFoundException($"no metric '{name}'");

    /// <summary>The value of <paramref name="name"/>, if present.</summary>
    public bool TryGet(string name, out double value)
    {
        foreach (var kv in items)
            if (kv.Key == name) { value = kv.Value; return true; }
        value = double.NaN;
        return false;
    }

    /// <inheritdoc/>
    public KeyValuePair<string, double> this[int index] => items[index];

    /// <inheritdoc/>
    public int Count => items.Count;

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Running sums of per-sample statistics over an epoch, each averaged by <see cref="Means"/>.</summary>
public sealed class MetricSums
{
    private readonly List<string> order = [];
    private readonly Dictionary<string, (double Sum, double Weight)> sums = [];

    /// <summary>Adds <paramref name="sum"/> over <paramref name="weight"/> samples to <paramref name="name"/>.</summary>
    public void Add(string name, double sum, double weight)
    {
        if (!sums.TryGetValue(name, out var s)) order.Add(name);
        sums[name] = (s.Sum + sum, s.Weight + weight);
    }

    /// <summary>Each statistic's mean: the loss first, then the others in the order first added.</summary>
    public MetricSet Means() => new(order.OrderBy(n => n == "loss" ? 0 : 1).Select(n => KeyValuePair.Create(n, sums[n].Sum / Math.Max(sums[n].Weight, 1e-300))));
}
