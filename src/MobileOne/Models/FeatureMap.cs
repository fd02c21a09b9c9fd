using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>One feature map of a MobileOne's pyramid: the level it belongs to and its tensor [N, C, H, W].</summary>
/// <param name="Level">Name, channels, stride and dilation of the level.</param>
/// <param name="Tensor">The map; the caller owns it.</param>
public sealed record FeatureMap(FeatureLevel Level, Tensor Tensor)
{
    /// <summary>The level's name (<c>stem</c>, <c>stage1</c> ... <c>stage4</c>).</summary>
    public string Name => Level.Name;

    /// <summary>Downsampling from the input to this map.</summary>
    public int Stride => Level.Stride;

    /// <summary>Channels of this map.</summary>
    public int Channels => Level.Channels;
}
