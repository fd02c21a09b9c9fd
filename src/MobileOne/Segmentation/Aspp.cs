using MobileOne.Models;
using MobileOne.Zoo;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>
/// Atrous spatial pyramid pooling (DeepLabV3 paper, section 3.3) with torchvision's names: five branches under
/// <c>convs</c> (a 1x1 convolution, three 3x3 convolutions dilated by the atrous rates, and image pooling, each
/// with BatchNorm and ReLU, 256 channels), concatenated and projected back to 256 channels by <c>project</c>
/// (1x1 convolution, BatchNorm, ReLU, dropout 0.5, seeded: <see cref="SeededDropout"/>).
/// </summary>
public sealed class Aspp : nn.Module<Tensor, Tensor>
{
    /// <summary>Channels of every branch and of the output.</summary>
    public const int Channels = 256;

#pragma warning disable IDE1006 // torchvision's state-dict names
    private readonly ModuleList<nn.Module<Tensor, Tensor>> convs;
    private readonly Sequential project;
#pragma warning restore IDE1006

    /// <summary>Creates the module for <paramref name="inChannels"/> input channels and three <paramref name="rates"/>.</summary>
    public Aspp(int inChannels, IReadOnlyList<int> rates) : base(nameof(Aspp))
    {
        Rates = rates;
        var branches = new List<nn.Module<Tensor, Tensor>> { Branch(inChannels, 1, 1) };
        branches.AddRange(rates.Select(r => Branch(inChannels, 3, r)));
        branches.Add(new AsppPooling(inChannels));
        convs = nn.ModuleList(branches.ToArray());
        project = Layers.Numbered(Layers.Conv(branches.Count * Channels, Channels, 1), Layers.Norm(Channels), nn.ReLU(), new SeededDropout(0.5));
        RegisterComponents();
    }

    /// <summary>The dilations of the three 3x3 branches.</summary>
    public IReadOnlyList<int> Rates { get; }

    /// <summary>The five branches in order (for the exporter).</summary>
    internal IReadOnlyList<nn.Module<Tensor, Tensor>> Branches => [.. convs];

    /// <summary>The projection of the concatenated branches (for the exporter).</summary>
    internal Sequential Project => project;

    private static Sequential Branch(int inChannels, int kernel, int dilation) =>
        Layers.ConvNormActivation(inChannels, Channels, kernel, dilation: dilation);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var branches = convs.Select(b => b.call(x)).ToArray();
        return project.call(cat(branches, 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// ASPP's image-pooling branch (torchvision's <c>ASPPPooling</c>): global average pooling, 1x1 convolution, BatchNorm
/// and ReLU, then spread over the map. torchvision spreads it by bilinear upsampling of a 1x1 map, which is a copy.
/// </summary>
public sealed class AsppPooling : nn.Module<Tensor, Tensor>
{
    // An array, not a field: the layers are registered under their own names (0 to 3), as torchvision's Sequential subclass has them.
    private readonly Sequential[] layers;

    /// <summary>Creates the branch for <paramref name="inChannels"/> input channels.</summary>
    public AsppPooling(int inChannels) : base(nameof(AsppPooling))
    {
        layers = [Layers.Numbered(nn.AdaptiveAvgPool2d(1), Layers.Conv(inChannels, Aspp.Channels, 1), Layers.Norm(Aspp.Channels), nn.ReLU())];
        foreach (var (name, module) in layers[0].named_children()) register_module(name, module);
    }

    /// <summary>The pooling, convolution, BatchNorm and ReLU, named 0 to 3 (for the exporter).</summary>
    internal Sequential Pooled => layers[0];

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var pooled = layers[0].call(x);
        return pooled.expand(-1, -1, x.shape[2], x.shape[3]).contiguous();
    }
}

/// <summary>The heads of torchvision's segmentation models, with its state-dict names.</summary>
public static class SegmentationHeads
{
    /// <summary>
    /// DeepLabV3's head (torchvision's <c>DeepLabHead</c>): <see cref="Aspp"/>, a 3x3 convolution with BatchNorm and
    /// ReLU, and a 1x1 classifier with bias to <paramref name="numClasses"/> logits.
    /// </summary>
    public static Sequential DeepLab(int inChannels, int numClasses, IReadOnlyList<int> rates) =>
        Layers.Numbered(new Aspp(inChannels, rates), Layers.Conv(Aspp.Channels, Aspp.Channels, 3), Layers.Norm(Aspp.Channels), nn.ReLU(),
            nn.Conv2d(Aspp.Channels, numClasses, 1));

    /// <summary>
    /// The auxiliary head (torchvision's <c>FCNHead</c>): a 3x3 convolution to a quarter of the channels with BatchNorm,
    /// ReLU and dropout 0.1, then a 1x1 classifier with bias.
    /// </summary>
    public static Sequential Fcn(int inChannels, int numClasses)
    {
        int inner = inChannels / 4;
        return Layers.Numbered(Layers.Conv(inChannels, inner, 3), Layers.Norm(inner), nn.ReLU(), new SeededDropout(0.1), nn.Conv2d(inner, numClasses, 1));
    }
}
