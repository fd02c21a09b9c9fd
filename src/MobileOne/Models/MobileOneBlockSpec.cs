namespace MobileOne.Models;

/// <summary>The shape of one <see cref="MobileOneBlock"/>.</summary>
/// <param name="InChannels">Input channels.</param>
/// <param name="OutChannels">Output channels.</param>
/// <param name="KernelSize">Kernel size of the conv branches (3 for depthwise blocks, 1 for pointwise).</param>
/// <param name="Stride">Stride of every branch.</param>
/// <param name="Groups">Convolution groups (channels for depthwise blocks, 1 otherwise).</param>
/// <param name="NumConvBranches">Number k of kxk conv+BN branches.</param>
/// <param name="UseSe">Whether Squeeze-Excite follows the branches.</param>
/// <param name="ScaleBranch">Whether the 1x1 scale branch is used where it applies (off only for ablations).</param>
/// <param name="SkipBranch">Whether the BatchNorm skip branch is used where it applies (off only for ablations).</param>
/// <param name="Dilation">Dilation of the kxk conv branches (1 unless the stage is dilated for a smaller output stride).</param>
/// <param name="StrideRemoved">
/// True when the design downsamples here but the block runs at stride 1 with dilation instead (a smaller
/// output stride): it keeps the design's branch set, so no skip branch appears, and its weights stay
/// interchangeable with the undilated network's.
/// </param>
public sealed record MobileOneBlockSpec(
    int InChannels, int OutChannels, int KernelSize, int Stride, int Groups, int NumConvBranches, bool UseSe,
    bool ScaleBranch = true, bool SkipBranch = true, int Dilation = 1, bool StrideRemoved = false)
{
    /// <summary>Padding that keeps the spatial size at stride 1 (scaled by the dilation).</summary>
    public int Padding => KernelSize / 2 * Dilation;

    /// <summary>The BatchNorm skip branch exists when input and output shapes agree by design.</summary>
    public bool HasSkip => SkipBranch && InChannels == OutChannels && Stride == 1 && !StrideRemoved;

    /// <summary>The 1x1 scale branch exists when the kernel is larger than 1.</summary>
    public bool HasScale => ScaleBranch && KernelSize > 1;

    /// <summary>Spatial output size for an input of size <paramref name="size"/>.</summary>
    public int OutputSize(int size) => (size + 2 * Padding - Dilation * (KernelSize - 1) - 1) / Stride + 1;
}
