namespace MobileOne.Data;

/// <summary>
/// A folder of MNIST-format IDX files, each plain or gzipped: <c>train-images-idx3-ubyte</c>,
/// <c>train-labels-idx1-ubyte</c>, <c>t10k-images-idx3-ubyte</c> and <c>t10k-labels-idx1-ubyte</c>, or the
/// same names after a prefix (EMNIST's <c>emnist-digits-</c>): MNIST, Fashion-MNIST, KMNIST and EMNIST come
/// this way. Images are gray, labels one byte each. The classes are named by the folder's
/// <see cref="ClassNamesFile"/> when it has one (as <c>data subset</c> writes it); else they are 0 to the largest
/// training label, named "0", "1", ..., or Fashion-MNIST's names when the folder holds Fashion-MNIST
/// (recognised by its training labels).
/// </summary>
public sealed class IdxFolder : IImageDataset
{
    /// <summary>Training images.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>Training labels.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>Test images (the validation split).</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>Test labels.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>Optional: the class names in label order, one per line (UTF-8); see <see cref="IdxClassNames"/>.</summary>
    public const string ClassNamesFile = "classes.txt";

    /// <summary>The four files of a folder, without the optional <c>.gz</c>.</summary>
    public static readonly IReadOnlyList<string> FileNames = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    private readonly byte[] pixels, labels;

    private IdxFolder(string description, IReadOnlyList<string> classes, byte[] pixels, byte[] labels, int width, int height)
    {
        Description = description;
        ClassNames = classes;
        this.pixels = pixels;
        this.labels = labels;
        Width = width;
        Height = height;
    }

    /// <summary>
    /// True when <paramref name="root"/> holds any of the four files (plain or gzipped, with or without a
    /// prefix); <see cref="Load"/> then names those that are missing.
    /// </summary>
    public static bool Contains(string root) => Directory.Exists(root) && FileNames.Any(f => Existing(root, f) is not null);

    /// <summary>
    /// Loads the training split or the test split. The classes always come from the training labels, so
    /// that a label means the same in both splits.
    /// </summary>
    public static IdxFolder Load(string root, bool train)
    {
        if (!Directory.Exists(root)) throw new MobileOneException($"IDX folder not found: {root}");
        var trainLabelsPath = Require(root, TrainLabelsFile);
        var trainLabels = IdxFile.ReadLabels(trainLabelsPath);
        if (trainLabels.Length == 0) throw new MobileOneException($"{trainLabelsPath}: holds no labels");
        var classes = Classes(root, trainLabels);
        var labelsPath = train ? trainLabelsPath : Require(root, TestLabelsFile);
        var labels = train ? trainLabels : IdxFile.ReadLabels(labelsPath);
        var imagesPath = Require(root, train ? TrainImagesFile : TestImagesFile);
        var (count, rows, cols, data) = IdxFile.ReadImages(imagesPath);
        if (labels.Length != count)
            throw new MobileOneException($"{labelsPath}: {labels.Length:N0} labels for {count:N0} images in {imagesPath}");
        if (labels.Length > 0 && labels.Max() >= classes.Count)
            throw new MobileOneException($"{labelsPath}: label {labels.Max()} is outside the {classes.Count} classes (0-{classes.Count - 1}) of {trainLabelsPath}");
        string name = ReferenceEquals(classes, FashionMnist.Classes) ? "Fashion-MNIST" : "IDX";
        var description = $"{name} {(train ? "train" : "test")} ({count:N0} images of {cols}x{rows}, {classes.Count} classes, {root})";
        return new IdxFolder(description, classes, data, labels, cols, rows);
    }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>True when the classes are Fashion-MNIST's.</summary>
    public bool IsFashionMnist => ReferenceEquals(ClassNames, FashionMnist.Classes);

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int Count => labels.Length;

    /// <inheritdoc/>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public int Label(int index) => labels[index];

    /// <inheritdoc/>
    public RgbImage Image(int index)
    {
        int n = Width * Height;
        var rgb = new byte[n * 3];
        var gray = GrayPixels(index);
        for (int i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i];
        return new RgbImage(Width, Height, rgb);
    }

    /// <summary>The gray levels of image <paramref name="index"/>, row by row.</summary>
    public ReadOnlySpan<byte> GrayPixels(int index) => pixels.AsSpan(index * Width * Height, Width * Height);

    /// <summary>Mean and standard deviation of every pixel of the split, scaled to [0, 1] (the normalisation a gray model needs).</summary>
    public (float Mean, float Std) PixelStatistics()
    {
        // A histogram: exact sums in integers, however many pixels.
        if (pixels.Length == 0) return (0, 1);
        var histogram = new long[256];
        foreach (var p in pixels) histogram[p]++;
        double n = pixels.Length, sum = 0, squares = 0;
        for (int v = 0; v < 256; v++)
        {
            sum += histogram[v] * (v / 255.0);
            squares += histogram[v] * (v / 255.0) * (v / 255.0);
        }
        double mean = sum / n;
        return ((float)mean, (float)Math.Sqrt(Math.Max(squares / n - mean * mean, 0)));
    }

    /// <summary>
    /// The file for <paramref name="name"/>: NAME or NAME.gz, else PREFIX-NAME[.gz] as EMNIST names its files
    /// (emnist-digits-train-images-idx3-ubyte.gz), provided only one data set in the folder has one.
    /// </summary>
    private static string? Existing(string root, string name)
    {
        var exact = new[] { name, name + ".gz" }.Select(f => Path.Combine(root, f)).FirstOrDefault(File.Exists);
        if (exact is not null) return exact;
        var prefixed = Directory.EnumerateFiles(root, "*-" + name + "*")
            .Where(f => f.EndsWith("-" + name, StringComparison.Ordinal) || f.EndsWith("-" + name + ".gz", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        if (prefixed.Count > 1)
            throw new MobileOneException($"{root}: {prefixed.Count} files could be the {name} file ({string.Join(", ", prefixed.Select(Path.GetFileName))}); keep one data set per folder");
        return prefixed.FirstOrDefault();
    }

    private static string Require(string root, string name) =>
        Existing(root, name) ?? throw new MobileOneException(
            $"{Path.Combine(root, name)}[.gz] not found; an IDX folder holds {string.Join(", ", FileNames)} (each optionally gzipped or after a prefix)");

    // A names file says what the labels mean; without one, Fashion-MNIST's labels identify it.
    private static IReadOnlyList<string> Classes(string root, byte[] trainLabels)
    {
        var namesPath = Path.Combine(root, ClassNamesFile);
        if (File.Exists(namesPath))
        {
            var names = IdxClassNames.Read(namesPath);
            if (trainLabels.Max() >= names.Count)
                throw new MobileOneException($"{namesPath}: names {names.Count} classes, but the training labels go up to {trainLabels.Max()}");
            return names;
        }
        return FashionMnist.HasTrainingLabels(trainLabels) ? FashionMnist.Classes : NumberedClasses(trainLabels.Max() + 1);
    }

    private static string[] NumberedClasses(int count) => Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
