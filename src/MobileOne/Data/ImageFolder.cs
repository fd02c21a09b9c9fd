namespace MobileOne.Data;

/// <summary>
/// Images in class folders, as torchvision's and timm's ImageFolder read them: <c>ROOT/CLASS/*.jpg|png</c>,
/// classes sorted by name (ordinal) and numbered from 0.
/// </summary>
public sealed class ImageFolder : IImageDataset
{
    private readonly List<(string Path, int Label)> samples;

    private ImageFolder(string root, IReadOnlyList<string> classes, List<(string, int)> samples)
    {
        ClassNames = classes;
        this.samples = samples;
        Description = $"{root} ({samples.Count:N0} images, {classes.Count} classes)";
    }

    /// <summary>
    /// Scans <paramref name="root"/>. With <paramref name="classes"/> (the training split's), a class
    /// folder that is not among them is an error, so that labels mean the same in every split.
    /// </summary>
    public static ImageFolder Load(string root, IReadOnlyList<string>? classes = null)
    {
        if (!Directory.Exists(root)) throw new MobileOneException($"image folder not found: {root}");
        var found = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Where(d => !d.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        if (found.Count == 0) throw new MobileOneException($"{root}: no class folders (expected {root}/CLASS/image.jpg)");
        classes ??= found;
        var unknown = found.Except(classes).ToList();
        if (unknown.Count > 0)
            throw new MobileOneException($"{root}: class folders not in the training split: {string.Join(", ", unknown)}");
        var samples = new List<(string, int)>();
        for (int c = 0; c < classes.Count; c++)
        {
            var dir = Path.Combine(root, classes[c]);
            if (!Directory.Exists(dir)) continue;
            samples.AddRange(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f)))
                .Order(StringComparer.Ordinal)
                .Select(f => (f, c)));
        }
        if (samples.Count == 0) throw new MobileOneException($"{root}: no images found in the class folders");
        return new ImageFolder(root, classes, samples);
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => samples.Count;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public int Label(int index) => samples[index].Label;

    /// <inheritdoc/>
    public RgbImage Image(int index) => ImageDecoder.Decode(samples[index].Path);
}
