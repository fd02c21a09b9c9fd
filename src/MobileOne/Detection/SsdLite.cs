using MobileOne.Data;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// SSDLite (MobileNetV2 paper, section 6.2) as torchvision's <c>ssdlite320_mobilenet_v3_large</c> builds it, on
/// any <see cref="FeatureTrunk"/>: six feature maps (<see cref="SsdLiteBackbone"/>), a box-code head and a class
/// head (<see cref="SsdLiteHead"/>) over SSD's default boxes (<see cref="DefaultBoxGenerator.SsdLite"/>, 3,234 at
/// 320x320). <see cref="nn.Module{T, TResult}.forward"/> returns [N, A, 4 + K]: each anchor's four box codes, then its K
/// class logits (class 0 is the background); <see cref="Anchors"/> and <see cref="Postprocessor"/> turn them into boxes.
/// The input is normalised by the caller (torchvision's SSDLite maps [0, 1] to [-1, 1]).
/// </summary>
public sealed class SsdLite : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // torchvision's state-dict names
    private readonly SsdLiteBackbone backbone;
    private readonly SsdLiteHead head;
#pragma warning restore IDE1006

    /// <summary>Creates the detector on <paramref name="trunk"/> for <paramref name="numClasses"/> classes, background included.</summary>
    public SsdLite(FeatureTrunk trunk, int numClasses) : base(nameof(SsdLite))
    {
        if (numClasses < 2) throw new MobileOneException($"a detector needs the background and at least one class, found {numClasses} classes");
        NumClasses = numClasses;
        backbone = new SsdLiteBackbone(trunk);
        head = new SsdLiteHead(backbone.OutChannels, DefaultBoxes.AnchorsPerLocation, numClasses);
        RegisterComponents();
    }

    /// <summary>SSDLite's input scaling, as torchvision's: [0, 1] to [-1, 1] (mean and standard deviation 0.5).</summary>
    public static ImagePreprocessor Normalization { get; } = new() { Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] };

    /// <summary>Classes, the background (0) included.</summary>
    public int NumClasses { get; }

    /// <summary>The backbone: trunk and extra layers.</summary>
    public SsdLiteBackbone Backbone => backbone;

    /// <summary>The heads.</summary>
    public SsdLiteHead Head => head;

    /// <summary>The default-box layout.</summary>
    public DefaultBoxGenerator DefaultBoxes { get; } = DefaultBoxGenerator.SsdLite();

    /// <summary>SSD's box coding.</summary>
    public BoxCoder Coder { get; } = new();

    /// <summary>SSDLite's post-processing settings.</summary>
    public SsdPostprocessor Postprocessor { get; init; } = new();

    /// <summary>
    /// Seeded weights for a detector trained from scratch: a MobileOne trunk with its network's own initialisation,
    /// a MobileNetV3 trunk, the extra layers and the heads N(0, 0.03) as torchvision's SSDLite; BatchNorm 1 and 0.
    /// </summary>
    public void Initialize(long seed)
    {
        if (backbone.Trunk is MobileOneTrunk mobileOne) WeightInit.Reset(mobileOne.Network, seed);
        else
        {
            using var trunkGenerator = new Generator((ulong)seed);
            SsdLiteLayers.NormalInit(backbone.Trunk, trunkGenerator);
        }
        using var generator = new Generator((ulong)seed + 1);
        SsdLiteLayers.NormalInit(backbone.Extra, generator);
        SsdLiteLayers.NormalInit(head, generator);
    }

    /// <summary>True for a state-dict name of the trunk (taken from a classifier), false for the extra layers and heads (new to detection).</summary>
    public static bool IsTrunkParameter(string name) =>
        name.StartsWith("backbone.", StringComparison.Ordinal) && !name.StartsWith("backbone.extra.", StringComparison.Ordinal);

    /// <summary>Box codes [N, A, 4], class logits [N, A, K] and the six maps' (height, width).</summary>
    public (Tensor Codes, Tensor Logits, IReadOnlyList<(int Height, int Width)> Grids) ForwardHeads(Tensor x)
    {
        using var scope = NewDisposeScope();
        var maps = backbone.call(x);
        var (codes, logits) = head.call(maps);
        var grids = maps.Select(m => ((int)m.shape[2], (int)m.shape[3])).ToList();
        return (codes.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope(), grids);
    }

    /// <summary>Runs <paramref name="run"/> with the detector in eval mode (BatchNorm on its running statistics), then restores its mode.</summary>
    public T InEvalMode<T>(Func<T> run)
    {
        using var evalMode = new EvalMode(this);
        return run();
    }

    /// <summary>The anchors, [A, 4] pixels, for an input of <paramref name="height"/> x <paramref name="width"/> whose maps have <paramref name="grids"/> cells.</summary>
    public Tensor Anchors(IReadOnlyList<(int Height, int Width)> grids, int height, int width) => DefaultBoxes.GenerateTensor(grids, height, width);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var (codes, logits, _) = ForwardHeads(x);
        using (codes)
        using (logits)
            return cat([codes, logits], -1);
    }
}
