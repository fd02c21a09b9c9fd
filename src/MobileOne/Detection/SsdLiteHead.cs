using MobileOne.Zoo;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// SSDLite's pieces (MobileNetV2 paper, section 6.2), with torchvision's state-dict names: every regular
/// convolution of SSD replaced by a depthwise 3x3 and a 1x1, ReLU6 activations, BatchNorm eps 1e-3 and momentum 0.03.
/// </summary>
public static class SsdLiteLayers
{
    /// <summary>BatchNorm epsilon of SSDLite's layers.</summary>
    public const double Eps = 1e-3;

    /// <summary>BatchNorm momentum of SSDLite's layers.</summary>
    public const double Momentum = 0.03;

    /// <summary>An extra feature layer: 1x1 to half the output channels, depthwise 3x3 stride 2, 1x1 to the output.</summary>
    public static Sequential Extra(int inChannels, int outChannels)
    {
        int mid = outChannels / 2;
        return Layers.Numbered(
            Layers.ConvNormActivation(inChannels, mid, 1, activation: ActivationKind.ReLU6, eps: Eps, momentum: Momentum),
            Layers.ConvNormActivation(mid, mid, 3, 2, groups: mid, activation: ActivationKind.ReLU6, eps: Eps, momentum: Momentum),
            Layers.ConvNormActivation(mid, outChannels, 1, activation: ActivationKind.ReLU6, eps: Eps, momentum: Momentum));
    }

    /// <summary>A prediction layer: depthwise 3x3 with BatchNorm and ReLU6, then a 1x1 convolution with bias.</summary>
    public static Sequential Prediction(int inChannels, int outChannels) => Layers.Numbered(
        Layers.ConvNormActivation(inChannels, inChannels, 3, groups: inChannels, activation: ActivationKind.ReLU6, eps: Eps, momentum: Momentum),
        nn.Conv2d(inChannels, outChannels, 1));

    /// <summary>torchvision's initialisation of SSDLite's layers: convolution weights N(0, 0.03), biases 0.</summary>
    public static void NormalInit(nn.Module module, Generator generator)
    {
        using var noGrad = no_grad();
        foreach (var conv in module.modules().OfType<Conv2d>())
        {
            conv.weight!.normal_(0, 0.03, generator);
            conv.bias?.zero_();
        }
    }
}

/// <summary>
/// One of SSDLite's two heads (<c>classification_head</c> or <c>regression_head</c>): a prediction layer per
/// feature map, whose [N, A x C, H, W] output becomes [N, H x W x A, C], concatenated over the maps; so
/// an anchor's row is its cell's, then its box's, as <see cref="DefaultBoxGenerator"/> orders them.
/// </summary>
public sealed class ScoringHead : nn.Module<Tensor[], Tensor>
{
#pragma warning disable IDE1006 // torchvision's state-dict name
    private readonly ModuleList<Sequential> module_list;
#pragma warning restore IDE1006
    private readonly int columns;

    /// <summary>Creates the head for maps of <paramref name="inChannels"/>, with <paramref name="anchors"/> boxes a cell and <paramref name="columns"/> outputs a box.</summary>
    public ScoringHead(IReadOnlyList<int> inChannels, IReadOnlyList<int> anchors, int columns) : base(nameof(ScoringHead))
    {
        this.columns = columns;
        module_list = nn.ModuleList(inChannels.Zip(anchors, (c, a) => SsdLiteLayers.Prediction(c, columns * a)).ToArray());
        RegisterComponents();
    }

    /// <summary>The prediction layer of each feature map.</summary>
    public IReadOnlyList<Sequential> Layers => [.. module_list];

    /// <summary>Outputs a box: 4 box codes, or the number of classes.</summary>
    public int Columns => columns;

    /// <inheritdoc/>
    public override Tensor forward(Tensor[] features)
    {
        using var scope = NewDisposeScope();
        var parts = features.Select((f, i) =>
        {
            var y = module_list[i].call(f);
            long n = y.shape[0], h = y.shape[2], w = y.shape[3];
            return y.view(n, -1, columns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, columns);
        }).ToArray();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>SSDLite's head: box codes and class logits for every anchor.</summary>
public sealed class SsdLiteHead : nn.Module<Tensor[], (Tensor Codes, Tensor Logits)>
{
#pragma warning disable IDE1006 // torchvision's state-dict names
    private readonly ScoringHead classification_head, regression_head;
#pragma warning restore IDE1006

    /// <summary>Creates the head.</summary>
    public SsdLiteHead(IReadOnlyList<int> inChannels, IReadOnlyList<int> anchors, int numClasses) : base(nameof(SsdLiteHead))
    {
        classification_head = new ScoringHead(inChannels, anchors, numClasses);
        regression_head = new ScoringHead(inChannels, anchors, 4);
        RegisterComponents();
    }

    /// <summary>The class head: K logits a box.</summary>
    public ScoringHead Classification => classification_head;

    /// <summary>The box head: 4 codes a box.</summary>
    public ScoringHead Regression => regression_head;

    /// <inheritdoc/>
    public override (Tensor Codes, Tensor Logits) forward(Tensor[] features) =>
        (regression_head.call(features), classification_head.call(features));
}
