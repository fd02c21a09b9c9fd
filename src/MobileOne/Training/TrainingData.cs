using MobileOne.Data;

namespace MobileOne.Training;

/// <summary>The training and validation sets a <see cref="TrainOptions.Data"/> names.</summary>
public static class TrainingData
{
    /// <summary>Fashion-MNIST's mean and standard deviation (one gray channel).</summary>
    public const float FashionMnistMean = 0.2860f, FashionMnistStd = 0.3530f;

    /// <summary>Loads (train, validation); Fashion-MNIST validates on its 10,000 test images.</summary>
    public static (IImageDataset Train, IImageDataset Val) Load(TrainOptions o)
    {
        IImageDataset train, val;
        if (o.Data.Equals("fashion-mnist", StringComparison.OrdinalIgnoreCase))
        {
            train = FashionMnist.Load(train: true);
            val = FashionMnist.Load(train: false);
        }
        else
        {
            var trainDir = Path.Combine(o.Data, "train");
            var valDir = Path.Combine(o.Data, "val");
            if (!Directory.Exists(trainDir))
                throw new MobileOneException($"--data {o.Data}: expected 'fashion-mnist' or a folder with train/CLASS/*.jpg and val/CLASS/*.jpg");
            var t = ImageFolder.Load(trainDir);
            train = t;
            val = Directory.Exists(valDir) ? ImageFolder.Load(valDir, t.ClassNames) : throw new MobileOneException($"{valDir} not found: the validation split is needed");
        }
        if (o.TrainSubset > 0) train = new DatasetSubset(train, o.TrainSubset);
        if (o.ValSubset > 0) val = new DatasetSubset(val, o.ValSubset);
        return (train, val);
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
}
