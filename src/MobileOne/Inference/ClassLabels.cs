using System.Reflection;

namespace MobileOne.Inference;

/// <summary>Class names: ImageNet-1k's (shipped with the library), a labels file, or generic names.</summary>
public static class ClassLabels
{
    private static readonly Lazy<IReadOnlyList<string>> ImageNetLabels = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("MobileOne.imagenet_classes.txt")
            ?? throw new InvalidOperationException("ImageNet labels resource missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
    });

    /// <summary>The 1000 ImageNet-1k class names in index order (0 = tench), as torchvision lists them.</summary>
    public static IReadOnlyList<string> ImageNet => ImageNetLabels.Value;

    /// <summary>Reads one label per line (blank lines ignored).</summary>
    public static IReadOnlyList<string> FromFile(string path)
    {
        if (!File.Exists(path)) throw new MobileOneException($"labels file not found: {path}");
        return File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
    }

    /// <summary>ImageNet's names for 1000 classes, else "class 0", "class 1", ... (named on demand: a model may declare billions).</summary>
    public static IReadOnlyList<string> Default(int numClasses) =>
        numClasses == ImageNet.Count ? ImageNet : new GenericLabels(numClasses);

    private sealed class GenericLabels(int count) : IReadOnlyList<string>
    {
        public string this[int index] => (uint)index < (uint)count ? $"class {index}" : throw new ArgumentOutOfRangeException(nameof(index));

        public int Count => count;

        public IEnumerator<string> GetEnumerator()
        {
            for (int i = 0; i < count; i++) yield return this[i];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
