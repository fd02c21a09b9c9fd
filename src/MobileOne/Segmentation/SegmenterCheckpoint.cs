using MobileOne.Checkpoints;

namespace MobileOne.Segmentation;

/// <summary>A segmenter read from a checkpoint: the network (in eval mode), its configuration, and whether its backbone is folded.</summary>
public sealed record LoadedSegmenter(DeepLabV3 Model, SegmenterConfig Config, bool Fused, string Path);

/// <summary>
/// Segmenter checkpoints: the state dict (torchvision's names for the reference segmenter) with the configuration
/// beside it in <c>model_config.json</c>, as a segmentation run writes them.
/// </summary>
public static class SegmenterCheckpoint
{
    /// <summary>
    /// Reads <paramref name="path"/> with the configuration <paramref name="configPath"/>, or the <c>model_config.json</c>
    /// beside it. A fused checkpoint (one convolution per MobileOne block) is recognised by its keys.
    /// </summary>
    public static LoadedSegmenter Load(string path, string? configPath = null)
    {
        var (json, source, weights, fused) = TaskCheckpoint.Read(path, configPath, "segmenter");
        var config = SegmenterConfig.FromJson(json, source);
        var model = config.Create(fused: fused);
        MobileOneCheckpoint.LoadInto(model, weights, path);
        model.eval();
        return new LoadedSegmenter(model, config, fused, path);
    }

    /// <summary>Writes the weights to <paramref name="path"/> and the configuration beside them, atomically.</summary>
    public static void Save(DeepLabV3 model, SegmenterConfig config, string path) => TaskCheckpoint.Save(model, config.ToJson(), path);
}
