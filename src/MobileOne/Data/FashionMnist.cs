namespace MobileOne.Data;

/// <summary>
/// Fashion-MNIST (Zalando; 60,000 training and 10,000 test images of 28x28, 10 classes): an
/// <see cref="IdxFolder"/> with its own class names and normalisation, installed by Debian's package
/// <c>dataset-fashion-mnist</c> and recognised in any folder by its training labels.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's package puts the files.</summary>
    public const string DefaultRoot = "/usr/share/datasets/fashion-mnist";

    /// <summary>Mean and standard deviation of the training images' gray levels, scaled to [0, 1].</summary>
    public const float Mean = 0.2860f, Std = 0.3530f;

    /// <summary>The ten classes in label order.</summary>
    public static readonly IReadOnlyList<string> Classes =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    // The first training labels of Fashion-MNIST. MNIST's, KMNIST's and EMNIST's begin otherwise, and the
    // chance that 32 labels of ten classes agree by accident is 1e-32.
    private static readonly byte[] FirstTrainingLabels = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4, 3, 1, 4, 8, 4, 3, 0, 2, 4, 4, 5, 3];

    /// <summary>True when the Debian package's files are present.</summary>
    public static bool IsInstalled(string root = DefaultRoot) =>
        File.Exists(Path.Combine(root, IdxFolder.TrainImagesFile + ".gz")) && File.Exists(Path.Combine(root, IdxFolder.TestLabelsFile + ".gz"));

    /// <summary>Loads the training (60,000) or test (10,000) split.</summary>
    public static IdxFolder Load(bool train, string root = DefaultRoot)
    {
        if (!IdxFolder.Contains(root))
            throw new MobileOneException($"Fashion-MNIST not found in {root}; install it with: apt-get install dataset-fashion-mnist");
        return IdxFolder.Load(root, train);
    }

    /// <summary>True when training labels are Fashion-MNIST's: they begin as its do, and all lie in its ten classes.</summary>
    public static bool HasTrainingLabels(ReadOnlySpan<byte> labels) =>
        labels.StartsWith(FirstTrainingLabels) && !labels.ContainsAnyExceptInRange((byte)0, (byte)(Classes.Count - 1));
}
