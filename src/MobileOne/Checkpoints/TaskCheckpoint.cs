using MobileOne.IO;
using static TorchSharp.torch;

namespace MobileOne.Checkpoints;

/// <summary>
/// The checkpoints of a task's model (a detector, a segmenter): the state dict, with the model's configuration
/// beside it in <c>model_config.json</c>, as a run folder holds them. The task reads the configuration it knows.
/// </summary>
public static class TaskCheckpoint
{
    /// <summary>
    /// The weights in <paramref name="path"/> and the configuration text of <paramref name="configPath"/>, or of the
    /// <c>model_config.json</c> beside the weights; a clear error naming the <paramref name="model"/> ("detector") when
    /// there is none. <c>Fused</c> tells a checkpoint whose MobileOne blocks are folded, by its keys.
    /// </summary>
    public static (string ConfigJson, string ConfigPath, StateDict Weights, bool Fused) Read(string path, string? configPath, string model)
    {
        configPath ??= Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", MobileOneCheckpoint.SidecarConfigName);
        if (!File.Exists(configPath))
            throw new MobileOneException($"{path}: no {model} configuration beside it ({configPath}); a training run writes one, or name one");
        var json = BoundedRead.SmallText(configPath);
        var weights = CheckpointFile.Read(path);
        return (json, configPath, weights, weights.Keys.Any(k => k.Contains(".reparam_conv.", StringComparison.Ordinal)));
    }

    /// <summary>Writes the weights of <paramref name="model"/> to <paramref name="path"/> and <paramref name="configJson"/> beside them, atomically.</summary>
    public static void Save(nn.Module model, string configJson, string path)
    {
        MobileOneCheckpoint.Save(model, path, CheckpointLayout.Apple, CheckpointFormat.Pth);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        AtomicFile.WriteAllText(Path.Combine(dir, MobileOneCheckpoint.SidecarConfigName), configJson);
    }
}
