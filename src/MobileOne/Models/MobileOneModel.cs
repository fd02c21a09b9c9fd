using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// The MobileOne network (paper, Table 7): a stride-2 stem block, four stages of depthwise/pointwise
/// <see cref="MobileOneBlock"/> pairs, global average pooling and a linear classifier. Output stride 32, or
/// 16 or 8 with dilated last stages (<see cref="MobileOneConfig.MaxOutputStride"/>); any input size and batch size. State-dict names follow Apple's reference
/// (<c>stage0</c>..<c>stage4</c>, <c>linear</c>), so its checkpoints load unchanged.
/// </summary>
public sealed class MobileOneModel : nn.Module<Tensor, Tensor>
{
    // Field names are Apple's state-dict names (TorchSharp registers fields by name).
#pragma warning disable IDE1006
    private readonly MobileOneBlock stage0;
    private readonly Sequential stage1, stage2, stage3, stage4;
    private readonly Linear linear;
#pragma warning restore IDE1006
    private readonly nn.Module<Tensor, Tensor>[] stages;

    /// <summary>
    /// Creates the network. With <paramref name="inferenceMode"/> every block is built directly in its
    /// fused form (one convolution with bias), as Apple's <c>inference_mode=True</c> does.
    /// </summary>
    public MobileOneModel(MobileOneConfig config, bool inferenceMode = false) : base(nameof(MobileOneModel))
    {
        // A configuration can come from a file: refuse an absurd one before LibTorch allocates it.
        ResourceLimits.Current.CheckModelParameters(ModelProfile.CountParameters(config, inferenceMode), $"the network ({config})");
        Config = config;
        IsFused = inferenceMode;
        var specs = config.Stages();
        Sequential Stage(int s) => nn.Sequential(specs[s].Select(spec => (nn.Module<Tensor, Tensor>)new MobileOneBlock(spec, inferenceMode)).ToArray());
        stage0 = new MobileOneBlock(specs[0][0], inferenceMode);
        stage1 = Stage(1);
        stage2 = Stage(2);
        stage3 = Stage(3);
        stage4 = Stage(4);
        linear = nn.Linear(config.StageChannels(3), config.NumClasses);
        stages = [stage0, stage1, stage2, stage3, stage4];
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public MobileOneConfig Config { get; }

    /// <summary>
    /// How many of the five stages (<c>stage0</c>, the stem, to <c>stage4</c>) are frozen: their parameters take
    /// no gradient and their BatchNorm layers stay in eval mode, so that their running statistics do not move
    /// either. 0 (the default) freezes nothing, 5 the whole backbone (a linear probe). mmpretrain's
    /// <c>frozen_stages</c> is this minus one.
    /// </summary>
    public int FrozenStages
    {
        get => frozenStages;
        set
        {
            if (value is < 0 or > 5) throw new MobileOneException($"frozen stages must be 0 to 5 (stem and four stages), found {value}");
            frozenStages = value;
            for (int s = 0; s < stages.Length; s++)
                foreach (var p in stages[s].parameters()) p.requires_grad = s >= value;
            train(training);
        }
    }

    private int frozenStages;

    /// <summary>Dropout probability on the pooled features before the classifier, in training only (0: none, as Apple's model).</summary>
    public double HeadDropout
    {
        get => headDropout;
        set => headDropout = value is >= 0 and < 1 ? value : throw new MobileOneException($"dropout must be in [0, 1), found {value}");
    }

    private double headDropout;

    // Its own generator: the global one is shared by everything else the process runs. Made when first
    // needed, since most networks (inference, EMA copies) never drop anything.
    private Generator? dropoutRng;

    private Generator DropoutRng => dropoutRng ??= new Generator(0);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) dropoutRng?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Seeds the generator of <see cref="HeadDropout"/>'s masks.</summary>
    public void SeedDropout(long seed) => DropoutRng.manual_seed(seed);

    private Tensor Dropout(Tensor h)
    {
        // Inverted dropout, as torch.nn.Dropout: keep with probability 1 - p, scale the kept by 1 / (1 - p).
        var keep = rand(h.shape, generator: DropoutRng).ge_(headDropout).to(h.dtype);
        return h * keep / (1 - headDropout);
    }

    /// <inheritdoc/>
    public override void train(bool on = true)
    {
        base.train(on);
        for (int s = 0; s < frozenStages; s++) stages[s].eval();
    }

    /// <summary>
    /// Checks that a batch read from <paramref name="source"/> can be run: [N, C, H, W] with this model's
    /// channels, nothing empty, and an input within <see cref="ResourceLimits.MaxInputPixels"/>.
    /// </summary>
    public void CheckInput(IReadOnlyList<long> shape, string source) => CheckInput(shape, Config.InChannels, source);

    /// <summary>
    /// As <see cref="CheckInput(IReadOnlyList{long}, string)"/>, before a model is built: for
    /// <paramref name="channels"/> input channels, or any number when null.
    /// </summary>
    public static void CheckInput(IReadOnlyList<long> shape, int? channels, string source)
    {
        if (shape.Count != 4 || (channels is int c && shape[1] != c))
            throw new MobileOneException($"{source}: expected shape [N, {channels?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "C"}, H, W], found [{string.Join(", ", shape)}]");
        if (shape[0] < 1) throw new MobileOneException($"{source}: the batch is empty");
        ResourceLimits.Current.CheckInput(shape[3], shape[2], source);
    }

    /// <summary>True when every block is in fused (inference) form.</summary>
    public bool IsFused { get; }

    /// <summary>The stride-2 stem block (<c>stage0</c>).</summary>
    public MobileOneBlock Stem => stage0;

    /// <summary>The classifier.</summary>
    public Linear Linear => linear;

    /// <summary>Every block in order, the stem first.</summary>
    public IEnumerable<(string Name, MobileOneBlock Block)> Blocks()
    {
        yield return ("stage0", Stem);
        for (int s = 1; s < stages.Length; s++)
        {
            int i = 0;
            foreach (var child in stages[s].children())
                yield return ($"stage{s}.{i++}", (MobileOneBlock)child);
        }
    }

    /// <summary>The feature-pyramid levels (stem, stage1..stage4): names, channels and strides, without running the network.</summary>
    public IReadOnlyList<FeatureLevel> FeatureLevels => Config.FeatureLevels();

    /// <summary>
    /// The feature pyramid: the maps after the stem and after each stage (strides 2, 4, 8, 16, 32 at output
    /// stride 32), named and described by <see cref="FeatureLevels"/>. What a detection or segmentation head consumes.
    /// </summary>
    public IReadOnlyList<FeatureMap> ForwardPyramid(Tensor x) =>
        FeatureLevels.Zip(ForwardFeatures(x), (level, map) => new FeatureMap(level, map)).ToList();

    /// <summary>
    /// A copy of this network with another largest output stride (8, 16 or 32): the same weights, the last
    /// stages dilated instead of downsampled. Its train/eval mode is this network's.
    /// </summary>
    public MobileOneModel WithOutputStride(int outputStride)
    {
        var copy = new MobileOneModel(Config.WithOutputStride(outputStride), IsFused);
        // Dilation changes no parameter shape and no branch set, so the state dicts match key for key.
        copy.load_state_dict(state_dict());
        copy.train(training);
        return copy;
    }

    /// <summary>
    /// The feature maps after the stem and after each stage, unnamed (see <see cref="ForwardPyramid"/>).
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        var features = new List<Tensor>(stages.Length);
        var h = x;
        foreach (var stage in stages)
        {
            h = stage.call(h);
            features.Add(h);
        }
        return features;
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != Config.InChannels)
            throw new MobileOneException($"expected an input of shape [N, {Config.InChannels}, H, W], found [{string.Join(", ", x.shape)}]");
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var stage in stages) h = stage.call(h);
        h = h.mean([2, 3]);
        if (training && headDropout > 0) h = Dropout(h);
        return Linear.call(h).MoveToOuterDisposeScope();
    }
}
