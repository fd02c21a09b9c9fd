using MobileOne.Models;

namespace MobileOne.Training;

/// <summary>The MobileOne configurations this project trains on small images.</summary>
public static class QuickstartModel
{
    /// <summary>
    /// MobileOne-S0's design for 28x28 images within a ten-minute CPU budget: S0's stem, four stages of
    /// depthwise/pointwise MobileOne block pairs and k = 4 over-parameterised branches, with [1, 2, 3, 1]
    /// block pairs instead of [2, 8, 10, 1] and stage widths 32, 64, 128, 512 (S0: 48, 128, 256, 1024).
    /// Stride 32 would leave 1x1 maps at 28x28, so the stem and stage 4 keep the resolution (strides 1, 2,
    /// 2, 2, 1): feature maps 28, 14, 7, 4, 4, as S0's are 112 ... 7 at 224.
    /// </summary>
    public static MobileOneConfig SmallImages(int channels, int numClasses) =>
        new([1, 2, 3, 1], [0.5, 0.5, 0.5, 1.0], useSe: false, numConvBranches: 4, numClasses: numClasses, inChannels: channels, strides: [1, 2, 2, 2, 1]);

    /// <summary>The <see cref="SmallImages"/> model for Fashion-MNIST's ten classes (the quickstart's).</summary>
    public static MobileOneConfig FashionMnist(int channels = 1) => SmallImages(channels, Data.FashionMnist.Classes.Count);
}
