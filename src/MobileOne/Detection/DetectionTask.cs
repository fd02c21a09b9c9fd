using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Detection.Coco;
using MobileOne.Models;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// Object detection as a training task: an <see cref="SsdLite"/> (<see cref="DetectorConfig"/> in
/// <see cref="TrainOptions.Model"/>) on a COCO-format data set (<see cref="DetectionData"/>), SSD's augmentation
/// (<see cref="DetectionAugmentation.Ssd"/>) and loss (<see cref="SsdLoss"/>), scored by COCO's mAP@[.5:.95]. The
/// recipe (SGD, warm-up and cosine, weight decay, EMA, checkpoints, resume) is the shared loop's. A MobileOne
/// backbone can start from a classification checkpoint (<see cref="TrainOptions.Init"/>), its classifier left out.
/// </summary>
public sealed class DetectionTask : ITrainingTask<DetectionBatch>
{
    private readonly TrainOptions options;
    private readonly DetectorConfig config;
    private readonly CocoDataset trainSet, valSet;
    private readonly DetectionLoader loader, valLoader;
    private readonly Dictionary<int, Tensor> anchors = [];

    /// <summary>Trains (or, with <paramref name="resume"/>, continues training) a detector in <paramref name="runDirectory"/>.</summary>
    public static TrainingResult Train(TrainOptions? options, string runDirectory, bool resume, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var run = new RunFolder(runDirectory);
        var resolved = Trainer.Reconcile(options, run, resume);
        return Trainer.Run(new DetectionTask(resolved), resolved, run, resume, observer, cancel);
    }

    /// <summary>
    /// The options of a new detection run on <paramref name="data"/> with <paramref name="backbone"/> (optionally
    /// started from the classification checkpoint <paramref name="init"/>), for as many classes as the data has:
    /// SSDLite's input (320, scaled to [-1, 1]) and <see cref="Recipe"/>, for a small data set on one machine.
    /// </summary>
    public static TrainOptions ForRun(string data, string backbone, string? init = null)
    {
        var train = DetectionData.Split(data, "train");
        var config = new DetectorConfig(backbone, train.Labels.Count + 1) { Categories = Categories(train) }.Validate("the detector");
        return Recipe with { Data = data, Model = config.ToJson(), Init = init ?? "", ImageSize = config.ImageSize };
    }

    /// <summary>
    /// Detection's recipe, what <see cref="ForRun"/> starts from: SSDLite's input scaling, no label smoothing, 30 epochs of
    /// batch 32 at learning rate 0.05 after one warm-up epoch, weight decay 4e-5 (torchvision's SSDLite), EMA 0.999, and a
    /// MobileOne's blocks started as identities (<see cref="BranchInit.Identity"/>).
    /// </summary>
    public static TrainOptions Recipe { get; } = TrainOptions.ForDenseTask(SsdLite.Normalization) with
    {
        BatchSize = 32,
        Lr = 0.05,
        WeightDecay = 4e-5, WeightDecayEnd = 4e-5, // constant, not annealed
        EmaDecay = 0.999,
        BranchInit = BranchInit.Identity,
    };

    /// <summary>The categories of <paramref name="set"/> in label order.</summary>
    public static IReadOnlyList<DetectorCategory> Categories(CocoDataset set) =>
        Enumerable.Range(1, set.Labels.Count).Select(l => set.Labels.CategoryOf(l))
            .Select(id => new DetectorCategory(id, set.Categories.First(c => c.Id == id).Name)).ToList();

    /// <summary>Loads the data of <paramref name="options"/> and checks that it fits the detector.</summary>
    public DetectionTask(TrainOptions options)
    {
        this.options = options;
        config = DetectorConfig.FromJson(options.Model, "model configuration") with { ImageSize = options.ImageSize };
        (trainSet, valSet) = DetectionData.Load(options.Data);
        if (trainSet.Labels.Count + 1 != config.NumClasses)
            throw new MobileOneException($"{trainSet.Path} has {trainSet.Labels.Count} categories; the detector has {config.NumClasses - 1} (and the background)");
        if (!valSet.Labels.CategoryIds.SequenceEqual(trainSet.Labels.CategoryIds))
            throw new MobileOneException($"{valSet.Path}: its categories differ from the training split's ({trainSet.Path})");
        var normalization = SsdLite.Normalization;
        loader = new DetectionLoader(trainSet, DetectionAugmentation.Preset(options.BoxAugment), normalization, options.BatchSize, shuffle: true, options.Seed, options.Workers);
        valLoader = new DetectionLoader(valSet, null, normalization, Math.Max(options.BatchSize, 16), shuffle: false, options.Seed, options.Workers);
        if (loader.BatchesPerEpoch == 0)
            throw new MobileOneException($"{trainSet.Path}: {trainSet.Images.Count} images make no batch of {options.BatchSize}");
    }

    /// <inheritdoc/>
    public string Description => $"{config.Name} ({config.NumClasses - 1} classes) on {trainSet.Path} ({trainSet.Images.Count} images); validating on {valSet.Path} ({valSet.Images.Count})";

    /// <inheritdoc/>
    public string PrimaryMetric => "mAP";

    /// <inheritdoc/>
    public string ModelConfigJson => config.ToJson();

    /// <inheritdoc/>
    public int BatchesPerEpoch => loader.BatchesPerEpoch;

    /// <inheritdoc/>
    public int BatchSize => options.BatchSize;

    /// <inheritdoc/>
    public nn.Module CreateModel()
    {
        var model = config.Create(options.Seed);
        if (model.Backbone.Trunk is MobileOneTrunk trunk) trunk.Network.FrozenStages = options.FreezeStages;
        return model;
    }

    /// <inheritdoc/>
    public void Initialize(nn.Module model, Action<string> log)
    {
        var detector = (SsdLite)model;
        detector.Initialize(options.Seed);
        MobileOneTrunk.StartRun(detector.Backbone.Trunk, options, "detector", config.Backbone, log);
    }

    /// <inheritdoc/>
    public double LearningRateScale(string parameterName) =>
        SsdLite.IsTrunkParameter(parameterName) ? 1 : options.HeadLrMult;

    /// <inheritdoc/>
    public IEnumerable<DetectionBatch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel) =>
        loader.Epoch(epoch, startBatch, b => settings(b).Size, cancel);

    /// <inheritdoc/>
    public Tensor Loss(nn.Module model, DetectionBatch batch, ScalarType dtype, long seed, MetricSums train)
    {
        var detector = (SsdLite)model;
        var x = tensor(batch.Images, [batch.Count, 3, batch.Size, batch.Size]).to(dtype);
        var (codes, logits, grids) = detector.ForwardHeads(x);
        if (!anchors.TryGetValue(batch.Size, out var boxes)) anchors[batch.Size] = boxes = detector.Anchors(grids, batch.Size, batch.Size).DetachFromDisposeScope();
        using var terms = new SsdLoss(detector.Coder).Compute(codes.to(float32), logits.to(float32), boxes, DetectionEvaluator.Targets(batch));
        train.Add("box_loss", terms.Regression.item<float>() * batch.Count, batch.Count);
        train.Add("cls_loss", terms.Classification.item<float>() * batch.Count, batch.Count);
        return terms.Total();
    }

    /// <inheritdoc/>
    public MetricSet Evaluate(nn.Module model)
    {
        var r = DetectionEvaluator.Evaluate((SsdLite)model, valLoader, options.ImageSize);
        return new MetricSet(("loss", r.Loss), ("mAP", r.Stats.AP), ("AP50", r.Stats.AP50), ("AP75", r.Stats.AP75),
            ("APs", r.Stats.APs), ("APm", r.Stats.APm), ("APl", r.Stats.APl), ("AR100", r.Stats.AR100));
    }

    /// <inheritdoc/>
    public void SaveWeights(nn.Module model, string path) => MobileOneCheckpoint.Save(model, path, CheckpointLayout.Apple, CheckpointFormat.Pth);
}
