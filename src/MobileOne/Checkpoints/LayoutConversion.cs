using MobileOne.Models;

namespace MobileOne.Checkpoints;

/// <summary>What a layout conversion read and wrote.</summary>
/// <param name="From">The input's layout.</param>
/// <param name="To">The layout written.</param>
/// <param name="Format">The file format written.</param>
/// <param name="Fused">True when the weights are in inference form; false for train-time branches, kept as they were.</param>
/// <param name="Variant">The named variant (s0..s4) the architecture matches, if any.</param>
/// <param name="Tensors">The number of tensors written.</param>
public sealed record LayoutConversion(CheckpointLayout From, CheckpointLayout To, CheckpointFormat Format, bool Fused, string? Variant, int Tensors)
{
    /// <summary>
    /// Rewrites a checkpoint's keys in <paramref name="layout"/>, atomically, without folding: a train-time
    /// checkpoint stays train-time, so that another framework (timm, Apple's code, mmpretrain) can go on
    /// training it. The tensors are copied byte for byte. The checkpoint must fit the MobileOne it describes
    /// (every key present, none extra, every shape right); <paramref name="config"/> names the architecture
    /// when the weights alone cannot.
    /// </summary>
    public static LayoutConversion Convert(string input, CheckpointLayout layout, string output, CheckpointFormat? format = null, MobileOneConfig? config = null)
    {
        var contents = MobileOneCheckpoint.Read(input, config);
        // Loading into the network it describes checks every key and shape before anything is written.
        using (var model = new MobileOneModel(contents.Config, inferenceMode: contents.Fused))
            MobileOneCheckpoint.LoadInto(model, contents.Weights, input);
        var written = format ?? CheckpointFile.FormatFromExtension(output);
        CheckpointFile.Write(output, LayoutConverter.FromApple(contents.Weights, layout), written);
        return new LayoutConversion(contents.Layout, layout, written, contents.Fused,
            MobileOneVariants.NameOf(contents.Config, ignoreBranches: contents.Fused), contents.Weights.Count);
    }

    /// <summary>One line for a log, e.g. "MobileOne-S0, train-time, apple layout -> timm layout, 1234 tensors, pth".</summary>
    public string Describe() =>
        $"{(Variant is null ? "MobileOne (custom)" : "MobileOne-" + Variant.ToUpperInvariant())}, {(Fused ? "fused" : "train-time")}, " +
        $"{From.ToString().ToLowerInvariant()} layout -> {To.ToString().ToLowerInvariant()} layout, {Tensors} tensors, {Format.ToString().ToLowerInvariant()}";
}
