using MobileOne.Models;

namespace MobileOne.Training;

/// <summary>The MobileOne configurations this project trains on small images.</summary>
public static class QuickstartModel
{
    /// <summary>
    /// MobileOne-S0's layout for 28x28 Fashion-MNIST: S0's depth ([2, 8, 10, 1] block pairs), k = 4
    /// over-parameterised branches and stage widths in S0's proportions at a quarter of its channels
    /// (12, 32, 64, 256), 10 classes. Stride 32 would leave 1x1 maps at 28x28, so the stem and stage 4 keep
    /// the resolution (strides 1, 2, 2, 2, 1): feature maps 28, 14, 7, 4, 4, as S0's 112..7 are at 224.
    /// </summary>
    public static MobileOneConfig FashionMnist(int channels = 1) =>
        new([2, 8, 10, 1], [0.1875, 0.25, 0.25, 0.5], useSe: false, numConvBranches: 4, numClasses: 10, inChannels: channels, strides: [1, 2, 2, 2, 1]);
}
