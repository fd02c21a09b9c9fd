using MobileOne.Models;
using MobileOne.Zoo;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Export;

/// <summary>
/// The modules whose forward pass is more than their children in order (a residual add, a channel
/// shuffle, a pooled classifier), each with the rule that writes its ONNX nodes. The models know nothing
/// of ONNX: every rule lives here, in Export, keyed by the module's type.
/// </summary>
internal static class NetworkEmitters
{
    /// <summary>Appends a module's nodes reading <c>x</c>; returns the output value's name.</summary>
    private delegate string Rule(OnnxGraphBuilder g, string name, nn.Module module, string x);

    private static KeyValuePair<Type, Rule> On<T>(Func<OnnxGraphBuilder, string, T, string, string> emit) where T : nn.Module =>
        new(typeof(T), (g, name, module, x) => emit(g, name, (T)module, x));

    // Exact types: every module here is sealed.
    private static readonly Dictionary<Type, Rule> Rules = new(
    [
        On<MobileOneModel>(MobileOneEmitters.Network),
        On<MobileOneBlock>(MobileOneEmitters.Block),
        On<ZooNetwork>(ZooEmitters.Network),
        On<InvertedResidual>(ZooEmitters.InvertedResidual),
        On<SqueezeExcitation>(ZooEmitters.SqueezeExcitation),
        On<BasicBlock>(ZooEmitters.BasicBlock),
        On<ShuffleUnit>(ZooEmitters.ShuffleUnit),
        On<TransformerEncoder>(ZooEmitters.TransformerEncoder),
        On<SelfAttention>(ZooEmitters.SelfAttention),
        On<MobileVitBlock>(ZooEmitters.MobileVit),
        On<Segmentation.Aspp>(SegmenterExporter.Aspp),
        On<Segmentation.AsppPooling>(SegmenterExporter.Pooling),
    ]);

    /// <summary>Emits <paramref name="module"/> by its type's rule; null when no rule knows the type.</summary>
    public static string? TryEmit(OnnxGraphBuilder g, string name, nn.Module module, string x) =>
        Rules.TryGetValue(module.GetType(), out var rule) ? rule(g, name, module, x) : null;
}
