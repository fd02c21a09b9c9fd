using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Models;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>One feature map written to disk: its level, shape and file.</summary>
/// <param name="Level">Name, channels, stride and dilation of the level.</param>
/// <param name="Shape">The map's shape [N, C, H, W].</param>
/// <param name="Path">The <c>.npy</c> file it was written to.</param>
public sealed record WrittenFeature(FeatureLevel Level, IReadOnlyList<long> Shape, string Path);

/// <summary>What <see cref="FeatureExtraction.Run"/> did: the checkpoint read, the network run and the files written.</summary>
/// <param name="Checkpoint">The checkpoint as loaded.</param>
/// <param name="Config">The architecture that ran (with its output stride).</param>
/// <param name="Fused">Whether the network that ran was in fused form.</param>
/// <param name="Features">The maps written, stem first.</param>
public sealed record FeatureExtractionResult(LoadedCheckpoint Checkpoint, MobileOneConfig Config, bool Fused, IReadOnlyList<WrittenFeature> Features);

/// <summary>
/// The feature pyramid of a checkpoint on a <c>.npy</c> batch, written as one <c>.npy</c> per level
/// (<c>stem.npy</c>, <c>stage1.npy</c> ... <c>stage4.npy</c>): what a dense head is trained or checked on.
/// </summary>
public static class FeatureExtraction
{
    /// <summary>
    /// Loads <paramref name="checkpointPath"/> (as <paramref name="config"/> describes it, or as inferred),
    /// optionally fuses it, sets the output stride (when given), checks the batch in
    /// <paramref name="inputPath"/>, runs it in eval mode and writes every level into
    /// <paramref name="outputDir"/> (created if missing).
    /// </summary>
    public static FeatureExtractionResult Run(string checkpointPath, string inputPath, string outputDir,
        MobileOneConfig? config = null, int? outputStride = null, bool fuse = false, Action<string>? warn = null)
    {
        using var scope = NewDisposeScope();
        var batch = CheckpointBatch.Load(checkpointPath, inputPath, config, outputStride, fuse, warn);
        var maps = batch.Run((net, x) => net.ForwardPyramid(x));
        Directory.CreateDirectory(outputDir);
        var written = maps.Select(m => Write(m, outputDir)).ToList();
        return new FeatureExtractionResult(batch.Checkpoint, batch.Network.Config, batch.Network.IsFused, written);
    }

    private static WrittenFeature Write(FeatureMap map, string outputDir)
    {
        var path = Path.Combine(outputDir, map.Name + ".npy");
        NpyFile.Write(path, map.Tensor);
        return new WrittenFeature(map.Level, map.Tensor.shape, path);
    }
}
