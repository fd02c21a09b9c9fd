using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MobileOne.Data;
using MobileOne.Models;
using FashionMnistData = MobileOne.Data.FashionMnist;

namespace MobileOne.Training;

/// <summary>
/// Everything that defines a training run, with the paper's defaults; written to the run folder as
/// <c>config.json</c> so that a run can be resumed and reproduced.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>"fashion-mnist", a folder of IDX files, or a folder with train/ and val/ class folders (see <see cref="TrainingData"/>).</summary>
    public string Data { get; init; } = "fashion-mnist";

    /// <summary>Model configuration JSON (as <see cref="Models.MobileOneConfig.ToJson"/> writes it).</summary>
    [JsonConverter(typeof(EmbeddedJsonConverter))]
    public string Model { get; init; } = "";

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 300;

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Peak learning rate; null means 0.1 x batch / 256 (the paper's 0.1 at batch 256).</summary>
    public double? Lr { get; init; }

    /// <summary>The learning rate actually used.</summary>
    [JsonIgnore]
    public double EffectiveLr => Lr ?? 0.1 * BatchSize / 256.0;

    /// <summary>Final learning rate of the cosine.</summary>
    public double MinLr { get; init; }

    /// <summary>Linear warm-up length in epochs (mmpretrain's reproduction uses 5).</summary>
    public double WarmupEpochs { get; init; } = 5;

    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; init; }

    /// <summary>Weight decay at the start (annealed on a cosine to <see cref="WeightDecayEnd"/>).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Weight decay at the end.</summary>
    public double WeightDecayEnd { get; init; } = 1e-5;

    /// <summary>Apply weight decay to BatchNorm weights and biases too (off: mmpretrain's choice).</summary>
    public bool DecayNormAndBias { get; init; }

    /// <summary>Label smoothing.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>EMA decay of the weights (0 disables the EMA).</summary>
    public double EmaDecay { get; init; } = 0.9995;

    /// <summary>Input size at the end of training (and for evaluation).</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Progressive resizing: "size:fraction,..." (e.g. "160:0,192:0.33,224:0.66"); empty keeps <see cref="ImageSize"/>.</summary>
    public string ResizeSchedule { get; init; } = "";

    /// <summary>Augmentation policy.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<AugmentPolicy>))]
    public AugmentPolicy Augment { get; init; } = AugmentPolicy.None;

    /// <summary>RandAugment magnitude (of 10).</summary>
    public int RandAugmentMagnitude { get; init; } = 9;

    /// <summary>RandomResizedCrop's smallest area fraction.</summary>
    public double CropScaleMin { get; init; } = 0.08;

    /// <summary>Horizontal flips.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Probability of random erasing per image (0: off).</summary>
    public double RandomErasing { get; init; }

    /// <summary>Fraction kept by the evaluation center crop.</summary>
    public double EvalCropPct { get; init; } = 0.875;

    /// <summary>Input channels: 3, or 1 to feed grayscale data as one channel.</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Normalisation mean per channel (RGB order).</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Normalisation standard deviation per channel.</summary>
    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Train in bfloat16 (float32 master weights in the optimiser).</summary>
    public bool Bf16 { get; init; }

    /// <summary>LibTorch threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Threads preparing batches.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Seed of initialisation, data order and augmentation.</summary>
    public int Seed { get; init; }

    /// <summary>Also write a resumable checkpoint every this many steps (0: only at epoch ends).</summary>
    public int CheckpointEvery { get; init; } = 500;

    /// <summary>Use at most this many training images (class-balanced; 0 = all).</summary>
    public int TrainSubset { get; init; }

    /// <summary>Use at most this many validation images (0 = all).</summary>
    public int ValSubset { get; init; }

    /// <summary>A checkpoint to start from (any layout and format the project reads; not a fused one); empty: random weights.</summary>
    public string Init { get; init; } = "";

    /// <summary>How many of the five stages (stem first) stay frozen, weights and BatchNorm statistics (see <see cref="MobileOneModel.FrozenStages"/>).</summary>
    public int FreezeStages { get; init; }

    /// <summary>Factor on the learning rate of the classifier (fine-tuning often gives a new head a larger one).</summary>
    public double HeadLrMult { get; init; } = 1;

    /// <summary>
    /// When positive, the gradients' joint L2 norm is clipped to it before each update (0: no clipping). It keeps the
    /// first steps from a random start, whose gradients are large beside the weights, from inflating the weights of the
    /// early layers, which BatchNorm makes scale-free, and so slowing their learning for the rest of the run.
    /// </summary>
    public double ClipGradNorm { get; init; }

    /// <summary>
    /// How a MobileOne trained from scratch starts its branches' BatchNorm scales: <c>ones</c> (PyTorch's default, as
    /// Apple trains) or <c>identity</c> (blocks with a skip branch start as ReLU(BN(x)); see <see cref="Models.BranchInit"/>).
    /// Detection and segmentation start from <c>identity</c>. Weights loaded from a checkpoint replace either.
    /// </summary>
    public string BranchInit { get; init; } = Models.BranchInit.Ones;

    /// <summary>Dropout before the classifier (0: none).</summary>
    public double Dropout { get; init; }

    /// <summary>A detector's training augmentation: <c>ssd</c> (photometric distortion, zoom-out, IoU crop, flip), <c>ssdlite</c> (IoU crop and flip, torchvision's SSDLite recipe) or <c>flip</c>.</summary>
    public string BoxAugment { get; init; } = "ssd";

    /// <summary>A segmenter's training augmentation: <c>reference</c> (torchvision's: random resize 0.5-2, flip, padded random crop) or <c>flip</c> (flip and crop only).</summary>
    public string SegmentAugment { get; init; } = "reference";

    /// <summary>How a segmentation data set's mask values become labels: <c>voc</c> (the value is the class, 255 ignored) or <c>ade20k</c> (0 ignored, the others one down).</summary>
    public string MaskLabels { get; init; } = "voc";

    /// <summary>Stop after this many steps in total (0 = run all epochs); for smoke tests and time budgets.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Stop after this many seconds of training (0 = no limit); the schedule still spans all epochs.</summary>
    public double TimeBudgetSeconds { get; init; }

    /// <summary>
    /// The options a data set implies, with the model that trains on it when none is chosen: Fashion-MNIST's
    /// (<see cref="FashionMnist"/>) for <c>fashion-mnist</c> or a folder recognised as Fashion-MNIST,
    /// <see cref="ForIdx"/> for another folder of IDX files, and ImageNet's normalisation with S0 for an
    /// ImageFolder. <paramref name="channels"/> defaults to 1 for IDX data and 3 for ImageFolders.
    /// </summary>
    public static TrainOptions ForData(string data, int? channels = null)
    {
        if (!TrainingData.IsIdx(data))
        {
            int ch = channels ?? 3;
            return new TrainOptions { Data = data, Channels = ch, Model = MobileOneVariants.S0().WithInput(ch, MobileOneConfig.DefaultStrides).ToJson() };
        }
        var train = TrainingData.LoadIdx(data, train: true);
        return (train.IsFashionMnist ? FashionMnist(channels ?? 1) : ForIdx(train, channels ?? 1)) with { Data = data };
    }

    /// <summary>
    /// The options of a new run on <paramref name="data"/> (see <see cref="ForData"/>), with its model decided as
    /// timm decides it: the architecture is <paramref name="architecture"/>, else that of the pretrained
    /// checkpoint <paramref name="init"/>, else the data set's default; the input channels are
    /// <paramref name="channels"/>, else the checkpoint's, else the data's; the class count is
    /// <paramref name="numClasses"/>, else the data's, never a variant's 1000. A checkpoint from one of this
    /// project's run folders brings its input size, evaluation crop and normalisation, as timm's pretrained
    /// configurations do: the features were learnt on inputs prepared that way.
    /// </summary>
    public static TrainOptions ForRun(string data, int? channels = null, MobileOneConfig? architecture = null, string? init = null, int? numClasses = null)
    {
        var pretrained = string.IsNullOrEmpty(init) ? null : FineTuning.ReadPretrained(init).Config;
        var preset = ForData(data, channels ?? pretrained?.InChannels);
        if (!string.IsNullOrEmpty(init) && PretrainingRun(init) is { } source && source.Channels == preset.Channels)
            preset = preset with { ImageSize = source.ImageSize, EvalCropPct = source.EvalCropPct, Mean = source.Mean, Std = source.Std };
        if (architecture is not null && pretrained is not null
            && !architecture.SameBackbone(pretrained.WithInput(architecture.InChannels, architecture.Strides), ignoreBranches: false))
            throw new MobileOneException($"{init}: the checkpoint's architecture ({pretrained}) is not the one asked for ({architecture})");
        var config = architecture ?? pretrained ?? MobileOneConfig.FromJson(preset.Model);
        config = config.WithInput(preset.Channels, config.Strides).WithNumClasses(numClasses ?? TrainingData.ClassNames(data).Count);
        return preset with { Model = config.ToJson(), Init = string.IsNullOrEmpty(init) ? "" : Path.GetFullPath(init) };
    }

    /// <summary>The options of the run whose folder holds <paramref name="checkpoint"/>, if it is one.</summary>
    private static TrainOptions? PretrainingRun(string checkpoint) => RunFolder.Of(checkpoint)?.ReadConfig();

    /// <summary>
    /// The base of a dense task's recipe (detection, segmentation): RGB input normalised as <paramref name="normalization"/>
    /// says, no label smoothing (there is no one label per image to smooth), 30 epochs after one warm-up epoch.
    /// </summary>
    public static TrainOptions ForDenseTask(ImagePreprocessor normalization) => new()
    {
        Mean = [.. normalization.Mean],
        Std = [.. normalization.Std],
        LabelSmoothing = 0,
        Channels = 3,
        Epochs = 30,
        WarmupEpochs = 1,
    };

    /// <summary>
    /// Options for Fashion-MNIST: 28x28 images (no evaluation crop), its gray-level mean and standard
    /// deviation, light cropping (scale 0.8-1), <paramref name="channels"/> input channels and the
    /// quickstart's model (<see cref="QuickstartModel.FashionMnist"/>).
    /// </summary>
    public static TrainOptions FashionMnist(int channels = 1) =>
        SmallGrayImages(28, FashionMnistData.Mean, FashionMnistData.Std, FashionMnistData.Classes.Count, channels) with { Data = TrainingData.FashionMnistName };

    /// <summary>
    /// Options for the training split of a folder of IDX files, as for Fashion-MNIST but with the images'
    /// own size (the shorter side when they are not square), the mean and standard deviation of their gray
    /// levels, as many classes as the labels name, and no horizontal flips: MNIST, KMNIST and EMNIST hold
    /// digits and letters, which a mirror turns into other symbols or none. A subset of Fashion-MNIST's classes
    /// (named in its <c>classes.txt</c>) keeps them.
    /// </summary>
    public static TrainOptions ForIdx(IdxFolder train, int channels = 1)
    {
        var (mean, std) = train.PixelStatistics();
        // Images of one gray level have nothing to normalise; a unit std keeps the transform defined.
        // Clothes mirror into clothes: a subset of Fashion-MNIST's classes keeps its flips.
        bool clothing = train.ClassNames.All(FashionMnistData.Classes.Contains);
        return SmallGrayImages(Math.Min(train.Width, train.Height), mean, std > 0 ? std : 1, train.ClassNames.Count, channels) with { HorizontalFlip = clothing };
    }

    private static TrainOptions SmallGrayImages(int size, float mean, float std, int classes, int channels) => new()
    {
        ImageSize = size,
        EvalCropPct = 1.0,
        CropScaleMin = 0.8,
        Channels = channels,
        Mean = [mean, mean, mean],
        Std = [std, std, std],
        Model = QuickstartModel.SmallImages(channels, classes).ToJson(),
    };

    /// <summary>The evaluation transform of the run (resize, center crop, normalise).</summary>
    public ImagePreprocessor EvalPreprocessing() =>
        new ImagePreprocessor { Size = ImageSize, CropPct = EvalCropPct, Mean = Mean, Std = Std, Channels = Channels }.Validated();

    /// <summary>A loader of <paramref name="val"/> with the run's evaluation transform, in order.</summary>
    public DataLoader EvalLoader(IImageDataset val, int batchSize)
    {
        var pre = EvalPreprocessing();
        return new DataLoader(val, (img, _, _, _, dst) => pre.ProcessInto(img, dst), batchSize, Channels, shuffle: false, dropLast: false, Seed, Workers);
    }

    /// <summary>The resize schedule as (size, start fraction) pairs, in order; one entry when there is none.</summary>
    public IReadOnlyList<(int Size, double Start)> Resolutions()
    {
        if (string.IsNullOrWhiteSpace(ResizeSchedule)) return [(ImageSize, 0)];
        var list = new List<(int, double)>();
        foreach (var part in ResizeSchedule.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split(':');
            if (kv.Length != 2 || !int.TryParse(kv[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 1
                || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var start) || start is < 0 or >= 1)
                throw new MobileOneException($"resize schedule: '{part}' is not SIZE:FRACTION with a fraction in [0, 1)");
            list.Add((size, start));
        }
        if (list[0].Item2 != 0) throw new MobileOneException("the resize schedule must start at fraction 0");
        for (int i = 1; i < list.Count; i++)
            if (list[i].Item2 <= list[i - 1].Item2) throw new MobileOneException("the resize schedule's fractions must increase");
        return list;
    }

    /// <summary>Image size and augmentation strength at a point of training (fraction in [0, 1]).</summary>
    public (int Size, double Strength) ProgressiveSettings(double fraction)
    {
        var r = Resolutions();
        int stage = r.Count - 1;
        while (stage > 0 && fraction < r[stage].Start) stage--;
        return (r[stage].Size, (stage + 1.0) / r.Count);
    }

    /// <summary>Checks the values, naming the bad one.</summary>
    public TrainOptions Validated()
    {
        void Require(bool ok, string message) { if (!ok) throw new MobileOneException(message); }
        Require(Epochs >= 1, $"epochs must be at least 1, found {Epochs}");
        Require(BatchSize >= 1, $"batch size must be at least 1, found {BatchSize}");
        Require(EffectiveLr > 0, $"learning rate must be positive, found {EffectiveLr}");
        Require(LabelSmoothing is >= 0 and < 1, $"label smoothing must be in [0, 1), found {LabelSmoothing}");
        Require(EmaDecay is >= 0 and < 1, $"EMA decay must be in [0, 1), found {EmaDecay}");
        Require(Channels is 1 or 3, $"channels must be 1 or 3, found {Channels}");
        Require(Mean.Length == 3 && Std.Length == 3, "mean and std need 3 values each");
        Require(Std.All(v => v > 0 && float.IsFinite(v)) && Mean.All(float.IsFinite), "the normalisation's standard deviations must be positive, and every value finite");
        Require(EvalCropPct is > 0 and <= 1, $"the evaluation crop must keep a fraction in (0, 1], found {EvalCropPct}");
        Require(CropScaleMin is > 0 and <= 1, $"crop scale must be in (0, 1], found {CropScaleMin}");
        Require(RandomErasing is >= 0 and <= 1, $"random erasing probability must be in [0, 1], found {RandomErasing}");
        Require(WarmupEpochs >= 0, $"warm-up must be 0 or more epochs, found {WarmupEpochs}");
        Require(Threads >= 0, $"threads must be 0 (all cores) or more, found {Threads}");
        Require(Workers >= 1, $"workers must be at least 1, found {Workers}");
        Require(CheckpointEvery >= 0 && MaxSteps >= 0 && TrainSubset >= 0 && ValSubset >= 0 && TimeBudgetSeconds >= 0,
            "checkpoint interval, step limit, subsets and time budget must be 0 (off) or more");
        Require(FreezeStages is >= 0 and <= 5, $"frozen stages must be 0 to 5 (stem and four stages), found {FreezeStages}");
        Require(ClipGradNorm >= 0 && double.IsFinite(ClipGradNorm), $"the gradient-norm limit must be 0 (off) or positive, found {ClipGradNorm}");
        Require(HeadLrMult > 0 && double.IsFinite(HeadLrMult), $"the head's learning-rate factor must be positive, found {HeadLrMult}");
        Require(Dropout is >= 0 and < 1, $"dropout must be in [0, 1), found {Dropout}");
        Require(Models.BranchInit.Names.Contains(BranchInit), $"the branch initialisation must be one of {string.Join(", ", Models.BranchInit.Names)}, found '{BranchInit}'");
        Resolutions();
        return this;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>JSON with snake_case keys.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    public static TrainOptions FromJson(string json, string source)
    {
        try { return JsonSerializer.Deserialize<TrainOptions>(json, Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new MobileOneException($"{source}: not a training configuration ({e.Message})"); }
    }
}
