using MobileOne.Models;
using MobileOne.Training;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// A MobileOne as a detector's or segmenter's trunk: its stem and four stages under Apple's names (the classifier
/// left out), returning the maps after the chosen stages; by default stage 3 (stride 16) and stage 4 (stride 32),
/// what SSDLite takes. The network itself stays available, to fold its branches or to load a classification checkpoint.
/// </summary>
public sealed class MobileOneTrunk : FeatureTrunk
{
    private readonly nn.Module<Tensor, Tensor>[] stages;

    /// <summary>
    /// Creates the trunk from <paramref name="network"/>, whose stage modules it shares; it returns the maps after the
    /// stages <paramref name="mapStages"/> (0 is the stem), in increasing order, by default 3 and 4.
    /// </summary>
    public MobileOneTrunk(MobileOneModel network, IReadOnlyList<int>? mapStages = null) : base(nameof(MobileOneTrunk))
    {
        MapStages = mapStages?.Order().Distinct().ToArray() ?? [3, 4];
        if (MapStages.Count == 0 || MapStages[0] < 0 || MapStages[^1] > 4)
            throw new MobileOneException($"a MobileOne trunk returns maps of stages 0 to 4, not [{string.Join(", ", MapStages)}]");
        this.network = [network];
        var named = network.named_children().Where(c => c.name.StartsWith("stage", StringComparison.Ordinal)).ToList();
        stages = named.Select(c => (nn.Module<Tensor, Tensor>)c.module).ToArray();
        foreach (var (name, module) in named) register_module(name, module);
        var levels = network.FeatureLevels;
        OutChannels = MapStages.Select(s => levels[s].Channels).ToArray();
    }

    /// <summary>
    /// Starts a task's trunk for a new run of <paramref name="options"/>: a MobileOne's branch initialisation, then the
    /// backbone of the classification checkpoint the options name, if any. Only a MobileOne loads one; for another trunk
    /// the error names <paramref name="model"/> (e.g. "detector") and its <paramref name="backbone"/>.
    /// </summary>
    public static void StartRun(FeatureTrunk trunk, TrainOptions options, string model, string backbone, Action<string> log)
    {
        var mobileOne = trunk as MobileOneTrunk;
        if (mobileOne is not null) BranchInit.Apply(mobileOne.Network, options.BranchInit);
        if (options.Init.Length == 0) return;
        if (mobileOne is null)
            throw new MobileOneException($"{options.Init}: a pretrained backbone loads into a MobileOne backbone; this {model}'s is {backbone}");
        FineTuning.LoadBackbone(mobileOne.Network, options.Init, log);
    }

    // An array, not a field: TorchSharp would register a module field (and so the classifier) under its C# name.
    private readonly MobileOneModel[] network;

    /// <summary>The stages whose output maps <see cref="nn.Module{T, TResult}.forward"/> returns (0 is the stem), in order.</summary>
    public IReadOnlyList<int> MapStages { get; }

    /// <summary>The MobileOne whose stages this trunk runs.</summary>
    public MobileOneModel Network => network[0];

    /// <inheritdoc/>
    public override string StateName => "body";

    /// <inheritdoc/>
    public override IReadOnlyList<int> OutChannels { get; }

    /// <inheritdoc/>
    public override int InChannels => Network.Config.InChannels;

    /// <inheritdoc/>
    public override IReadOnlyList<TrunkPart> Chain => stages.Select((m, s) => new TrunkPart($"stage{s}", m, IsMap: MapStages.Contains(s))).ToList();

    /// <inheritdoc/>
    public override void train(bool on = true)
    {
        base.train(on);
        // Frozen stages keep their BatchNorm statistics.
        Network.train(on);
    }
}
