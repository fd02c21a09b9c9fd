using MobileOne.Checkpoints;
using MobileOne.Detection;
using MobileOne.Reparameterization;

namespace MobileOne.Segmentation;

/// <summary>The fold of a segmenter's MobileOne backbone into its inference form.</summary>
public static class SegmenterFold
{
    /// <summary>
    /// A new segmenter whose MobileOne backbone is folded (<see cref="Reparameterizer.Fuse"/>, the dilation carried
    /// into the fused convolutions), the heads copied; in eval mode. A segmenter whose backbone has nothing to fold
    /// (MobileNetV3, or already fused) comes back as it is.
    /// </summary>
    public static DeepLabV3 Fold(DeepLabV3 model, SegmenterConfig config)
    {
        if (model.Backbone is not MobileOneTrunk { Network.IsFused: false } trunk) return model;
        var fused = config.Build(Reparameterizer.Fuse(trunk.Network));
        var heads = new StateDict(MobileOneCheckpoint.ToStateDict(model).Where(kv => !DeepLabV3.IsBackboneParameter(kv.Key)));
        MobileOneCheckpoint.LoadInto(fused, heads, "the segmenter's heads", keep: DeepLabV3.IsBackboneParameter);
        fused.eval();
        return fused;
    }
}
