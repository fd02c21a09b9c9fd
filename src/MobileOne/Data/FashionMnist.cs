namespace MobileOne.Data;

/// <summary>
/// Fashion-MNIST (Zalando; 60,000 training and 10,000 test images of 28x28, 10 classes) from the gzipped
/// IDX files that Debian's package <c>dataset-fashion-mnist</c> installs.
/// </summary>
public sealed class FashionMnist : IImageDataset
{
    /// <summary>Where Debian's package puts the files.</summary>
    public const string DefaultRoot = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten classes in label order.</summary>
    public static readonly IReadOnlyList<string> Classes =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private readonly byte[] pixels, labels;
    private readonly int rows, cols;

    private FashionMnist(string description, byte[] pixels, byte[] labels, int rows, int cols)
    {
        Description = description;
        this.pixels = pixels;
        this.labels = labels;
        this.rows = rows;
        this.cols = cols;
    }

    /// <summary>True when the Debian package's files are present.</summary>
    public static bool IsInstalled(string root = DefaultRoot) =>
        File.Exists(Path.Combine(root, "train-images-idx3-ubyte.gz")) && File.Exists(Path.Combine(root, "t10k-labels-idx1-ubyte.gz"));

    /// <summary>Loads the training (60,000) or test (10,000) split.</summary>
    public static FashionMnist Load(bool train, string root = DefaultRoot)
    {
        if (!Directory.Exists(root))
            throw new MobileOneException($"Fashion-MNIST not found in {root}; install it with: apt-get install dataset-fashion-mnist");
        var prefix = train ? "train" : "t10k";
        var imagesPath = Path.Combine(root, $"{prefix}-images-idx3-ubyte.gz");
        var labelsPath = Path.Combine(root, $"{prefix}-labels-idx1-ubyte.gz");
        var (count, r, c, data) = IdxFile.ReadImages(imagesPath);
        var labels = IdxFile.ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new MobileOneException($"{labelsPath}: {labels.Length} labels for {count} images in {imagesPath}");
        if (labels.Any(l => l >= Classes.Count))
            throw new MobileOneException($"{labelsPath}: label {labels.Max()} outside 0-{Classes.Count - 1}");
        return new FashionMnist($"Fashion-MNIST {(train ? "train" : "test")} ({count:N0} images, {root})", data, labels, r, c);
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => labels.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames => Classes;

    /// <inheritdoc/>
    public int Label(int index) => labels[index];

    /// <inheritdoc/>
    public RgbImage Image(int index)
    {
        int n = rows * cols;
        var rgb = new byte[n * 3];
        for (int i = 0; i < n; i++)
        {
            byte v = pixels[index * n + i];
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = v;
        }
        return new RgbImage(cols, rows, rgb);
    }
}
