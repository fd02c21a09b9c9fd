namespace MobileOne.Models;

/// <summary>
/// Parameter and multiply-accumulate counts of a MobileOne, computed from its configuration. MACs count
/// convolutions and the classifier (SE's 1x1 convolutions on the pooled vector included), as the
/// reference figures do; BatchNorm, ReLU and pooling are not counted.
/// </summary>
public sealed class ModelProfile
{
    /// <summary>One row per stage (stem first).</summary>
    public sealed record StageRow(string Name, int Blocks, int Channels, int Stride, int OutputHeight, int OutputWidth,
        long ParamsUnfused, long ParamsFused, long MacsUnfused, long MacsFused);

    private ModelProfile(MobileOneConfig config, int height, int width, IReadOnlyList<StageRow> stages, long headParams, long headMacs)
    {
        Config = config;
        InputHeight = height;
        InputWidth = width;
        Stages = stages;
        ParamsUnfused = stages.Sum(s => s.ParamsUnfused) + headParams;
        ParamsFused = stages.Sum(s => s.ParamsFused) + headParams;
        MacsUnfused = stages.Sum(s => s.MacsUnfused) + headMacs;
        MacsFused = stages.Sum(s => s.MacsFused) + headMacs;
    }

    /// <summary>The architecture profiled.</summary>
    public MobileOneConfig Config { get; }

    /// <summary>Input height.</summary>
    public int InputHeight { get; }

    /// <summary>Input width.</summary>
    public int InputWidth { get; }

    /// <summary>Per-stage figures.</summary>
    public IReadOnlyList<StageRow> Stages { get; }

    /// <summary>Trainable parameters of the train-time network (BatchNorm affine included, running statistics not).</summary>
    public long ParamsUnfused { get; }

    /// <summary>Parameters of the reparameterised network.</summary>
    public long ParamsFused { get; }

    /// <summary>MACs of the train-time network (every branch's convolution).</summary>
    public long MacsUnfused { get; }

    /// <summary>MACs of the reparameterised network.</summary>
    public long MacsFused { get; }

    /// <summary>Profiles <paramref name="config"/> for an input of the given size.</summary>
    public static ModelProfile Compute(MobileOneConfig config, int height = 224, int width = 224)
    {
        if (height < 1 || width < 1) throw new MobileOneException($"input size must be positive, found {height}x{width}");
        var rows = new List<StageRow>();
        int h = height, w = width;
        var stages = config.Stages();
        var levels = config.FeatureLevels();
        for (int s = 0; s < stages.Count; s++)
        {
            long pu = 0, pf = 0, mu = 0, mf = 0;
            foreach (var b in stages[s])
            {
                h = b.OutputSize(h);
                w = b.OutputSize(w);
                long pixels = (long)h * w;
                var cost = BlockCost(b);
                pu += cost.ParamsUnfused;
                pf += cost.ParamsFused;
                mu += cost.MacsUnfused * pixels + cost.SeMacs;
                mf += cost.MacsFused * pixels + cost.SeMacs;
            }
            if (h < 1 || w < 1) throw new MobileOneException($"input {height}x{width} is too small: stage {s} would have no output pixels");
            rows.Add(new StageRow(levels[s].Name, s == 0 ? 1 : stages[s].Count / 2, stages[s][^1].OutChannels,
                levels[s].Stride, h, w, pu, pf, mu, mf));
        }
        long c = config.StageChannels(3);
        return new ModelProfile(config, height, width, rows, HeadParameters(config), c * config.NumClasses);
    }

    /// <summary>
    /// Parameters of the network a configuration describes (train-time or fused), counted without building
    /// it, so that an absurd configuration can be refused before memory is allocated.
    /// </summary>
    public static long CountParameters(MobileOneConfig config, bool fused)
    {
        long total = HeadParameters(config);
        foreach (var stage in config.Stages())
            foreach (var b in stage)
            {
                var c = BlockCost(b);
                total = checked(total + (fused ? c.ParamsFused : c.ParamsUnfused));
            }
        return total;
    }

    private static long HeadParameters(MobileOneConfig config) => checked((config.StageChannels(3) + 1L) * config.NumClasses);

    /// <summary>One block's parameters, and its MACs per output pixel (SE's on the pooled vector apart).</summary>
    private sealed record Cost(long ParamsUnfused, long ParamsFused, long MacsUnfused, long MacsFused, long SeMacs);

    private static Cost BlockCost(MobileOneBlockSpec b)
    {
        long cinPerGroup = b.InChannels / b.Groups;
        long kxk = (long)b.OutChannels * cinPerGroup * b.KernelSize * b.KernelSize;
        long scale = b.HasScale ? (long)b.OutChannels * cinPerGroup : 0;
        long bnParams = 2L * b.OutChannels;
        long pu = b.NumConvBranches * (kxk + bnParams) + (b.HasScale ? scale + bnParams : 0) + (b.HasSkip ? 2L * b.InChannels : 0);
        long pf = kxk + b.OutChannels;
        long seParams = 0, seMacs = 0;
        if (b.UseSe)
        {
            long r = (long)(b.OutChannels * MobileOneConfig.SqueezeExciteRatio);
            seParams = 2 * r * b.OutChannels + r + b.OutChannels;
            seMacs = 2 * r * b.OutChannels;
        }
        return new Cost(pu + seParams, pf + seParams, b.NumConvBranches * kxk + scale, kxk, seMacs);
    }
}
