using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Detection;
using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>
/// Semantic segmentation as a training task: a <see cref="DeepLabV3"/> (<see cref="SegmenterConfig"/> in
/// <see cref="TrainOptions.Model"/>) on a VOC-format data set (<see cref="SegmentationData"/>, its <c>train</c> and
/// <c>val</c> splits), torchvision's segmentation augmentation (<see cref="SegmentationAugmentation"/>) and loss
/// (<see cref="SegmentationLoss"/>), scored by the mIoU of the validation split at full resolution. The recipe (SGD,
/// warm-up and cosine, weight decay, EMA, checkpoints, resume) is the shared loop's. A MobileOne backbone can start
/// from a classification checkpoint (<see cref="TrainOptions.Init"/>), its classifier left out.
/// </summary>
public sealed class SegmentationTask : ITrainingTask<SegmentationBatch>
{
    /// <summary>The largest default training crop: torchvision's for Pascal VOC.</summary>
    public const int MaxDefaultCrop = 480;

    private readonly TrainOptions options;
    private readonly SegmenterConfig config;
    private readonly SegmentationData trainSet, valSet;
    private readonly SegmentationLoader loader, valLoader;

    /// <summary>Trains (or, with <paramref name="resume"/>, continues training) a segmenter in <paramref name="runDirectory"/>.</summary>
    public static TrainingResult Train(TrainOptions? options, string runDirectory, bool resume, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var run = new RunFolder(runDirectory);
        var resolved = Trainer.Reconcile(options, run, resume);
        return Trainer.Run(new SegmentationTask(resolved), resolved, run, resume, observer, cancel);
    }

    /// <summary>
    /// The options of a new segmentation run on <paramref name="data"/> with DeepLabV3 on <paramref name="backbone"/>
    /// (optionally started from the classification checkpoint <paramref name="init"/>): as many classes as the data's
    /// <c>classes.txt</c> names, else <paramref name="numClasses"/>; masks read by the convention <paramref name="maskLabels"/>
    /// (<see cref="MaskLabelNames"/>); ImageNet's normalisation; a square training crop
    /// of the first training image's shorter side, at most <see cref="MaxDefaultCrop"/>; and <see cref="Recipe"/>.
    /// </summary>
    public static TrainOptions ForRun(string data, string backbone, string? init = null, int? numClasses = null, int outputStride = 16, bool aux = false,
        string maskLabels = "voc")
    {
        var labels = MaskLabelNames.Parse(maskLabels);
        var names = ClassNamesOf(data);
        int classes = names?.Count ?? numClasses
            ?? throw new MobileOneException($"{data}: no classes.txt to count the classes by; give their number (21 for Pascal VOC, background included; 150 for ADE20K)");
        if (names is not null && numClasses is int n && n != names.Count)
            throw new MobileOneException($"{Path.Combine(data, Data.Mosaic.MosaicGenerator.ClassesFile)} names {names.Count} classes, not {n}");
        var config = new SegmenterConfig(backbone, classes, outputStride, aux).Validate("the segmenter");
        var first = SegmentationData.Open(data, "train", classes, labels).Load(0).Image;
        return Recipe with
        {
            Data = data,
            MaskLabels = maskLabels,
            Model = config.ToJson(),
            Init = string.IsNullOrEmpty(init) ? "" : Path.GetFullPath(init),
            ImageSize = Math.Min(MaxDefaultCrop, Math.Min(first.Width, first.Height)),
        };
    }

    /// <summary>
    /// Segmentation's recipe, what <see cref="ForRun"/> starts from: ImageNet's normalisation, no label smoothing,
    /// torchvision's recipe for a small data set on one machine (SGD at 0.02 after one warm-up epoch, weight decay
    /// 1e-4, 30 epochs, batch 8, no EMA), and a MobileOne's blocks started as identities (<see cref="BranchInit.Identity"/>).
    /// </summary>
    public static TrainOptions Recipe { get; } = TrainOptions.ForDenseTask(DeepLabV3.Normalization) with
    {
        BatchSize = 8,
        Lr = 0.02,
        WeightDecay = 1e-4, WeightDecayEnd = 1e-4, // constant, not annealed
        EmaDecay = 0,
        BranchInit = BranchInit.Identity,
    };

    /// <summary>The class names of the data set in <paramref name="data"/> (its <c>classes.txt</c>, as the mosaic writes it), or null without one.</summary>
    public static IReadOnlyList<string>? ClassNamesOf(string data)
    {
        var path = Path.Combine(data, Data.Mosaic.MosaicGenerator.ClassesFile);
        return File.Exists(path) ? IdxClassNames.Read(path) : null;
    }

    /// <summary>Opens the data of <paramref name="options"/> and checks that it fits the segmenter.</summary>
    public SegmentationTask(TrainOptions options)
    {
        this.options = options;
        config = SegmenterConfig.FromJson(options.Model, "model configuration");
        ClassNames = ClassNamesOf(options.Data);
        if (ClassNames is not null && ClassNames.Count != config.NumClasses)
            throw new MobileOneException($"{options.Data}: {ClassNames.Count} classes in its classes.txt; the segmenter has {config.NumClasses}");
        var labels = MaskLabelNames.Parse(options.MaskLabels);
        trainSet = SegmentationData.Open(options.Data, "train", config.NumClasses, labels);
        valSet = SegmentationData.Open(options.Data, "val", config.NumClasses, labels);
        // The network's own scaling, as predict, eval and the export use it (the run's config.json records the same values).
        var normalization = DeepLabV3.Normalization;
        loader = new SegmentationLoader(trainSet, SegmentationAugmentation.Preset(options.SegmentAugment), normalization, options.BatchSize, shuffle: true, options.Seed, options.Workers);
        valLoader = new SegmentationLoader(valSet, null, normalization, Math.Max(options.BatchSize, 8), shuffle: false, options.Seed, options.Workers);
        if (loader.BatchesPerEpoch == 0)
            throw new MobileOneException($"{options.Data}: {trainSet.Samples.Count} training images make no batch of {options.BatchSize}");
    }

    /// <inheritdoc/>
    public string Description => $"{config.Name} ({config.NumClasses} classes{(config.Aux ? ", auxiliary head" : "")}) on {trainSet.Root} " +
        $"({trainSet.Samples.Count} training images, {options.ImageSize}-pixel crops); validating on {valSet.Samples.Count} at full resolution";

    /// <inheritdoc/>
    public string PrimaryMetric => "mIoU";

    /// <inheritdoc/>
    public string ModelConfigJson => config.ToJson();

    /// <inheritdoc/>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <inheritdoc/>
    public int BatchesPerEpoch => loader.BatchesPerEpoch;

    /// <inheritdoc/>
    public int BatchSize => options.BatchSize;

    /// <inheritdoc/>
    public nn.Module CreateModel()
    {
        var model = config.Create(options.Seed);
        if (model.Backbone is MobileOneTrunk trunk) trunk.Network.FrozenStages = options.FreezeStages;
        return model;
    }

    /// <inheritdoc/>
    public void Initialize(nn.Module model, Action<string> log)
    {
        MobileOneTrunk.StartRun(((DeepLabV3)model).Backbone, options, "segmenter", config.Backbone, log);
    }

    /// <inheritdoc/>
    public double LearningRateScale(string parameterName) =>
        DeepLabV3.IsBackboneParameter(parameterName) ? 1 : options.HeadLrMult;

    /// <inheritdoc/>
    public IEnumerable<SegmentationBatch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel) =>
        loader.Epoch(epoch, startBatch, b => settings(b).Size, cancel);

    /// <inheritdoc/>
    public Tensor Loss(nn.Module model, SegmentationBatch batch, ScalarType dtype, long seed, MetricSums train)
    {
        var net = (DeepLabV3)model;
        var labels = SegmentationEvaluator.Labels(batch);
        net.SeedDropout(seed);
        var (output, aux) = net.ForwardWithAux(SegmentationEvaluator.Images(batch).to(dtype));
        var logits = output.to(float32);
        long counted = SegmentationLoss.Counted(labels);
        using (var correct = logits.argmax(1).eq(labels).sum())
            train.Add("pixel_accuracy", correct.item<long>(), Math.Max(1, counted));
        return SegmentationLoss.Mean(logits, aux?.to(float32), labels);
    }

    /// <inheritdoc/>
    public MetricSet Evaluate(nn.Module model) => SegmentationEvaluator.Evaluate((DeepLabV3)model, valLoader).ToMetrics();

    /// <inheritdoc/>
    public void SaveWeights(nn.Module model, string path) => MobileOneCheckpoint.Save(model, path, CheckpointLayout.Apple, CheckpointFormat.Pth);
}
