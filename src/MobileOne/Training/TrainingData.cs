using MobileOne.Data;

namespace MobileOne.Training;

/// <summary>
/// The data sets a <see cref="TrainOptions.Data"/> names: <c>fashion-mnist</c> (Debian's package), a folder
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

    /// <summary>Loads (train, validation); IDX data validate on their test (t10k) split.</summary>
    public static (IImageDataset Train, IImageDataset Val) Load(TrainOptions o)
    {
        var (train, val) = IsIdx(o.Data) ? (LoadIdx(o.Data, train: true), LoadIdx(o.Data, train: false)) : LoadImageFolders(o.Data);
        if (o.TrainSubset > 0) train = new DatasetSubset(train, o.TrainSubset);
        if (o.ValSubset > 0) val = new DatasetSubset(val, o.ValSubset);
        return (train, val);
    }

    /// <summary>
    /// The validation split alone, for evaluation: the test split of IDX data, else DIR/val, or DIR itself
    /// when it holds the class folders (classes are then the training split's when DIR/train exists).
    /// </summary>
    public static IImageDataset ValidationSet(TrainOptions o)
    {
        IImageDataset set;
        if (IsIdx(o.Data)) set = LoadIdx(o.Data, train: false);
        else
        {
            var val = Path.Combine(o.Data, "val");
            var train = Path.Combine(o.Data, "train");
            set = ImageFolder.Load(Directory.Exists(val) ? val : o.Data, Directory.Exists(train) ? ImageFolder.Load(train).ClassNames : null);
        }
        return o.ValSubset > 0 ? new DatasetSubset(set, o.ValSubset) : set;
    }

    /// <summary>The evaluation transform of a run (resize, center crop, normalise).</summary>
    public static ImagePreprocessor EvalPreprocessing(TrainOptions o) =>
        new ImagePreprocessor { Size = o.ImageSize, CropPct = o.EvalCropPct, Mean = o.Mean, Std = o.Std, Channels = o.Channels }.Validated();

    /// <summary>The validation loader of a run.</summary>
    public static DataLoader EvalLoader(IImageDataset val, TrainOptions o, int batchSize)
    {
        var pre = EvalPreprocessing(o);
        return new DataLoader(val, (img, _, _, _, dst) => pre.ProcessInto(img, dst), batchSize, o.Channels, shuffle: false, dropLast: false, o.Seed, o.Workers);
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
