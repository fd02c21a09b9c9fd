namespace MobileOne.Study;

/// <summary>How each layer of the probe network is built (paper, Section 3: the cost of architectural blocks).</summary>
public enum ProbeBlock
{
    /// <summary>Conv, BatchNorm (folded for inference), activation: a plain chain.</summary>
    Plain,
    /// <summary>Plain, plus an identity skip connection around every layer whose shape allows one.</summary>
    Skip,
    /// <summary>Plain, plus Squeeze-Excite after every layer (a global pool: a synchronisation point).</summary>
    SqueezeExcite,
    /// <summary>MobileOne/RepVGG train-time blocks: 3x3 conv+BN, 1x1 conv+BN and a BN identity, summed, unfused.</summary>
    MultiBranch,
    /// <summary>The same blocks folded into one 3x3 convolution each: the plain chain again.</summary>
    MultiBranchFused,
}
