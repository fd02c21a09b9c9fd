
namespace MobileOne.Data;

/// <summary>
/// The data sets a training run names: <c>fashion-mnist</c> (Debian's package), a folder
/// of MNIST-format IDX files (<see cref="IdxFolder"/>), or an ImageFolder root with train/ and val/ class folders.
/// </summary>
public static class TrainingData
{
    /// <summary>The name that stands for Debian's Fashion-MNIST package.</summary>
    public const string FashionMnistName = "fashion-mnist";

    /// <summary>True for <c>fashion-mnist</c> and for a folder holding any of the four IDX files; false for an ImageFolder root.</summary>
    public static bool IsIdx(string data) => IsFashionMnistName(data) || IdxFolder.Contains(data);

    /// <summary>One split of IDX data: Debian's Fashion-MNIST for <c>fashion-mnist</c>, else the folder's files.</summary>
    public static IdxFolder LoadIdx(string data, bool train) =>
        IsFashionMnistName(data) ? FashionMnist.Load(train) : IdxFolder.Load(data, train);

    /// <summary>The class names of the training split.</summary>
    public static IReadOnlyList<string> ClassNames(string data) =>
        IsIdx(data) ? LoadIdx(data, train: true).ClassNames : LoadImageFolders(data).Train.ClassNames;

    /// <summary>
    /// Loads (train, validation), each cut to at most <paramref name="trainSubset"/> and <paramref name="valSubset"/>
    /// images when those are positive; IDX data validate on their test (t10k) split.
    /// </summary>
    public static (IImageDataset Train, IImageDataset Val) Load(string data, int trainSubset = 0, int valSubset = 0)
    {
        var (train, val) = IsIdx(data) ? (LoadIdx(data, train: true), LoadIdx(data, train: false)) : LoadImageFolders(data);
        if (trainSubset > 0) train = new DatasetSubset(train, trainSubset);
        if (valSubset > 0) val = new DatasetSubset(val, valSubset);
        return (train, val);
    }

    /// <summary>
    /// The validation split alone, for evaluation: the test split of IDX data, else DIR/val, or DIR itself
    /// when it holds the class folders (classes are then the training split's when DIR/train exists).
    /// </summary>
    public static IImageDataset ValidationSet(string data, int valSubset = 0)
    {
        IImageDataset set;
        if (IsIdx(data)) set = LoadIdx(data, train: false);
        else
        {
            var val = Path.Combine(data, "val");
            var train = Path.Combine(data, "train");
            set = ImageFolder.Load(Directory.Exists(val) ? val : data, Directory.Exists(train) ? ImageFolder.Load(train).ClassNames : null);
        }
        return valSubset > 0 ? new DatasetSubset(set, valSubset) : set;
    }

    private static bool IsFashionMnistName(string data) => data.Equals(FashionMnistName, StringComparison.OrdinalIgnoreCase);

    private static (IImageDataset Train, IImageDataset Val) LoadImageFolders(string root)
    {
        var trainDir = Path.Combine(root, "train");
        var valDir = Path.Combine(root, "val");
        if (!Directory.Exists(trainDir))
            throw new MobileOneException($"{root}: not a data set; expected '{FashionMnistName}', a folder of IDX files ({string.Join(", ", IdxFolder.FileNames)}, " +
                                        "each optionally gzipped) or a folder with train/CLASS/*.jpg and val/CLASS/*.jpg");
        if (!Directory.Exists(valDir)) throw new MobileOneException($"{valDir} not found: the validation split is needed");
        var train = ImageFolder.Load(trainDir);
        return (train, ImageFolder.Load(valDir, train.ClassNames));
    }
}
