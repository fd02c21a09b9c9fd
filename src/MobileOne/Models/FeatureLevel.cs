namespace MobileOne.Models;

/// <summary>One level of a MobileOne's feature pyramid, as the configuration determines it.</summary>
/// <param name="Name">The level's name: <c>stem</c>, <c>stage1</c> ... <c>stage4</c>.</param>
/// <param name="Channels">Channels of the level's feature map.</param>
/// <param name="Stride">Downsampling from the input to this level (2, 4, 8, 16, 32 at output stride 32).</param>
/// <param name="Dilation">Dilation of the level's 3x3 convolutions (1 unless the output stride is below 32).</param>
public sealed record FeatureLevel(string Name, int Channels, int Stride, int Dilation)
{
    /// <summary>The name of level <paramref name="index"/> (0 is the stem).</summary>
    public static string NameOf(int index) => index == 0 ? "stem" : $"stage{index}";
}
