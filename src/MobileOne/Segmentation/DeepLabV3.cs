using MobileOne.Data;
using MobileOne.Detection;
using MobileOne.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Segmentation;

/// <summary>
/// DeepLabV3 (Chen et al. 2017) as torchvision builds it: a dilated <see cref="FeatureTrunk"/> under <c>backbone</c>
/// whose last map feeds the DeepLab head (<see cref="SegmentationHeads.DeepLab"/>, under <c>classifier</c>), and
/// optionally an earlier stride-8 map the FCN auxiliary head (<c>aux_classifier</c>). Both heads' logits are
/// upsampled bilinearly (align_corners false) to the input size. <see cref="nn.Module{T, TResult}.forward"/> returns
/// the main logits [N, K, H, W]; the input is normalised by the caller with ImageNet's mean and deviation.
/// </summary>
public sealed class DeepLabV3 : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // torchvision's state-dict names
    private readonly Sequential classifier;
    private readonly Sequential? aux_classifier;
#pragma warning restore IDE1006

    // An array, not a field: TorchSharp would register a module field under its C# name.
    private readonly FeatureTrunk[] trunk;

    /// <summary>
    /// Creates the network on <paramref name="backbone"/>, whose maps are the auxiliary head's input then the main
    /// head's when <paramref name="aux"/>, else the main head's alone; the three atrous <paramref name="rates"/>.
    /// </summary>
    public DeepLabV3(FeatureTrunk backbone, int numClasses, IReadOnlyList<int> rates, bool aux) : base(nameof(DeepLabV3))
    {
        if (numClasses < 1) throw new MobileOneException($"a segmenter needs at least one class, found {numClasses}");
        if (backbone.OutChannels.Count != (aux ? 2 : 1))
            throw new MobileOneException($"DeepLabV3 {(aux ? "with" : "without")} an auxiliary head takes {(aux ? 2 : 1)} maps from its backbone, not {backbone.OutChannels.Count}");
        NumClasses = numClasses;
        trunk = [backbone];
        classifier = SegmentationHeads.DeepLab(backbone.OutChannels[^1], numClasses, rates);
        aux_classifier = aux ? SegmentationHeads.Fcn(backbone.OutChannels[0], numClasses) : null;
        register_module("backbone", backbone);
        register_module("classifier", classifier);
        if (aux_classifier is not null) register_module("aux_classifier", aux_classifier);
    }

    /// <summary>DeepLabV3's input scaling, as torchvision's segmentation presets: ImageNet's mean and standard deviation.</summary>
    public static ImagePreprocessor Normalization { get; } = new();

    /// <summary>Classes, each one channel of the logits.</summary>
    public int NumClasses { get; }

    /// <summary>The backbone.</summary>
    public FeatureTrunk Backbone => trunk[0];

    /// <summary>The DeepLab head: <see cref="Aspp"/>, convolution, BatchNorm, ReLU, classifier (for the exporter).</summary>
    internal Sequential Classifier => classifier;

    /// <summary>True when the network has the auxiliary head.</summary>
    public bool HasAux => aux_classifier is not null;

    /// <summary>True for a state-dict name of the backbone, false for the heads.</summary>
    public static bool IsBackboneParameter(string name) => name.StartsWith("backbone.", StringComparison.Ordinal);

    /// <summary>
    /// Seeds the dropout layers of the heads (<see cref="SeededDropout"/>) for one training step, each from
    /// <paramref name="seed"/> and its place in the network.
    /// </summary>
    public void SeedDropout(long seed)
    {
        int i = 0;
        foreach (var dropout in modules().OfType<SeededDropout>()) dropout.Seed(seed * 31 + i++);
    }

    /// <summary>The main logits and, with the auxiliary head, its logits; both [N, K, H, W] at the input's size.</summary>
    public (Tensor Out, Tensor? Aux) ForwardWithAux(Tensor x)
    {
        using var scope = NewDisposeScope();
        long[] size = [x.shape[2], x.shape[3]];
        var maps = Backbone.call(x);
        var output = Upsample(classifier.call(maps[^1]), size);
        var aux = aux_classifier is null ? null : Upsample(aux_classifier.call(maps[0]), size);
        return (output.MoveToOuterDisposeScope(), aux?.MoveToOuterDisposeScope());
    }

    private static Tensor Upsample(Tensor logits, long[] size) =>
        nn.functional.interpolate(logits, size, mode: InterpolationMode.Bilinear, align_corners: false);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var (output, aux) = ForwardWithAux(x);
        aux?.Dispose();
        return output;
    }
}
