using MobileOne.Checkpoints;
using MobileOne.Reparameterization;

namespace MobileOne.Detection;

/// <summary>A detector read from a checkpoint: the network (in eval mode), its configuration, and whether its backbone is folded.</summary>
public sealed record LoadedDetector(SsdLite Model, DetectorConfig Config, bool Fused, string Path);

/// <summary>
/// Detector checkpoints: the state dict (PyTorch's zip format, torchvision's names for the reference detector)
/// with the configuration beside it in <c>model_config.json</c>, as a detection run writes them; and the fold
/// of a MobileOne backbone into its inference form.
/// </summary>
public static class DetectorCheckpoint
{
    /// <summary>
    /// Reads <paramref name="path"/> with the configuration <paramref name="configPath"/>, or the
    /// <c>model_config.json</c> beside it. A fused checkpoint (one convolution per MobileOne block) is recognised by its keys.
    /// </summary>
    public static LoadedDetector Load(string path, string? configPath = null)
    {
        var (json, source, weights, fused) = TaskCheckpoint.Read(path, configPath, "detector");
        var config = DetectorConfig.FromJson(json, source);
        var model = config.Create(fused: fused);
        MobileOneCheckpoint.LoadInto(model, weights, path);
        model.eval();
        return new LoadedDetector(model, config, fused, path);
    }

    /// <summary>Writes the weights to <paramref name="path"/> and the configuration beside them, atomically.</summary>
    public static void Save(SsdLite model, DetectorConfig config, string path) => TaskCheckpoint.Save(model, config.ToJson(), path);

    /// <summary>
    /// A new detector whose MobileOne backbone is folded (<see cref="Reparameterizer.Fuse"/>), the extra layers and
    /// heads copied; in eval mode. A detector whose backbone has nothing to fold (MobileNetV3, or already fused) comes back as it is.
    /// </summary>
    public static SsdLite Fold(SsdLite model)
    {
        if (model.Backbone.Trunk is not MobileOneTrunk { Network.IsFused: false } trunk) return model;
        var fused = new SsdLite(new MobileOneTrunk(Reparameterizer.Fuse(trunk.Network)), model.NumClasses) { Postprocessor = model.Postprocessor };
        var rest = new StateDict(MobileOneCheckpoint.ToStateDict(model).Where(kv => !SsdLite.IsTrunkParameter(kv.Key)));
        MobileOneCheckpoint.LoadInto(fused, rest, "the detector's heads", keep: SsdLite.IsTrunkParameter);
        fused.eval();
        return fused;
    }
}
