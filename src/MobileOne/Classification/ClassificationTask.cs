using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Classification;

/// <summary>
/// Image classification, the training loop's first task: a <see cref="MobileOneModel"/> on an image data set
/// (<see cref="TrainingData"/>), label-smoothed cross-entropy, top-1 and top-5 accuracy. Its options are a
/// <see cref="TrainOptions"/>'s; it can start from pretrained weights (<see cref="TrainOptions.Init"/>),
/// freeze stages, give the head its own learning rate and drop features before the classifier.
/// </summary>
public sealed class ClassificationTask : ITrainingTask<Batch>
{
    private readonly TrainOptions options;
    private readonly MobileOneConfig config;
    private readonly IImageDataset trainSet, valSet;
    private readonly DataLoader loader, valLoader;

    /// <summary>
    /// Trains (or, with <paramref name="resume"/>, continues training) a classifier in <paramref name="runDirectory"/>;
    /// see <see cref="Trainer.Reconcile"/> for what <paramref name="options"/> may be when resuming.
    /// </summary>
    public static TrainingResult Train(TrainOptions? options, string runDirectory, bool resume, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var run = new RunFolder(runDirectory);
        var resolved = Trainer.Reconcile(options, run, resume);
        return Trainer.Run(new ClassificationTask(resolved), resolved, run, resume, observer, cancel);
    }

    /// <summary>Loads the data of <paramref name="options"/> (validated) and checks that they fit its model.</summary>
    public ClassificationTask(TrainOptions options)
    {
        this.options = options;
        config = MobileOneConfig.FromJson(options.Model, "model configuration");
        if (config.InChannels != options.Channels)
            throw new MobileOneException($"the model takes {config.InChannels} input channels, the data pipeline produces {options.Channels}");
        (trainSet, valSet) = TrainingData.Load(options.Data, options.TrainSubset, options.ValSubset);
        if (trainSet.ClassNames.Count != config.NumClasses)
            throw new MobileOneException($"{trainSet.Description} has {trainSet.ClassNames.Count} classes; the model has {config.NumClasses}");
        var transform = new TrainTransform
        {
            ScaleMin = options.CropScaleMin,
            HorizontalFlip = options.HorizontalFlip,
            EraseProbability = options.RandomErasing,
            Policy = options.Augment,
            RandAugmentM = options.RandAugmentMagnitude,
            Normalization = new ImagePreprocessor { Mean = options.Mean, Std = options.Std, Channels = options.Channels },
        };
        loader = new DataLoader(trainSet, transform.Apply, options.BatchSize, options.Channels, shuffle: true, dropLast: true, options.Seed, options.Workers);
        valLoader = options.EvalLoader(valSet, Math.Max(options.BatchSize, 64));
    }

    /// <inheritdoc/>
    public string Description => $"{config} on {trainSet.Description}; validating on {valSet.Description}";

    /// <inheritdoc/>
    public string PrimaryMetric => "top1";

    /// <inheritdoc/>
    public string ModelConfigJson => config.ToJson();

    /// <inheritdoc/>
    public IReadOnlyList<string>? ClassNames => trainSet.ClassNames;

    /// <inheritdoc/>
    public int BatchesPerEpoch => loader.BatchesPerEpoch;

    /// <inheritdoc/>
    public int BatchSize => options.BatchSize;

    /// <inheritdoc/>
    public nn.Module CreateModel() => new MobileOneModel(config) { FrozenStages = options.FreezeStages, HeadDropout = options.Dropout };

    /// <inheritdoc/>
    public void Initialize(nn.Module model, Action<string> log)
    {
        var net = (MobileOneModel)model;
        WeightInit.Reset(net, options.Seed);
        BranchInit.Apply(net, options.BranchInit);
        if (options.Init.Length > 0) FineTuning.LoadPretrained(net, options.Init, options.Seed, log);
    }

    /// <inheritdoc/>
    public double LearningRateScale(string parameterName) =>
        parameterName.StartsWith(FineTuning.ClassifierPrefix, StringComparison.Ordinal) ? options.HeadLrMult : 1;

    /// <inheritdoc/>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel) =>
        loader.Epoch(epoch, startBatch, settings, cancel);

    /// <inheritdoc/>
    public Tensor Loss(nn.Module model, Batch batch, ScalarType dtype, long seed, MetricSums train)
    {
        var net = (MobileOneModel)model;
        var x = tensor(batch.Images, [batch.Count, batch.Channels, batch.Size, batch.Size]).to(dtype);
        var y = tensor(batch.Labels);
        net.SeedDropout(seed);
        var logits = net.forward(x);
        var loss = LabelSmoothing.CrossEntropy(logits, y, options.LabelSmoothing);
        train.Add("top1", logits.argmax(1).eq(y).sum().item<long>(), batch.Count);
        return loss;
    }

    /// <inheritdoc/>
    public MetricSet Evaluate(nn.Module model)
    {
        var r = Evaluator.Evaluate((MobileOneModel)model, valLoader, options.ImageSize, valSet.ClassNames, options.LabelSmoothing);
        return new MetricSet(("loss", r.Loss), ("top1", r.Top1), ("top5", r.Top5));
    }

    /// <inheritdoc/>
    public void SaveWeights(nn.Module model, string path) => MobileOneCheckpoint.Save(model, path, CheckpointLayout.Apple, CheckpointFormat.Pth);
}
