using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileOne.Models;

/// <summary>
/// The MobileOne block (paper, Figure 3). At train time its output is
/// ReLU(SE(sum of k conv+BN branches + a 1x1 scale conv+BN branch + a BN skip branch)); the scale
/// branch exists when the kernel is larger than 1, the skip branch when input and output shapes agree.
/// In inference form the branches are one convolution with bias (<c>reparam_conv</c>).
/// </summary>
public sealed class MobileOneBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates a block, in train-time (multi-branch) or inference (fused) form.</summary>
    public MobileOneBlock(MobileOneBlockSpec spec, bool inferenceMode = false) : base(nameof(MobileOneBlock))
    {
        Spec = spec;
        if (spec.UseSe) se = new SqueezeExcite(spec.OutChannels);
        if (inferenceMode)
        {
            reparam_conv = nn.Conv2d(spec.InChannels, spec.OutChannels, spec.KernelSize, stride: spec.Stride,
                padding: spec.Padding, dilation: spec.Dilation, groups: spec.Groups, bias: true);
        }
        else
        {
            if (spec.HasSkip) rbr_skip = nn.BatchNorm2d(spec.InChannels);
            rbr_conv = nn.ModuleList(Enumerable.Range(0, spec.NumConvBranches)
                .Select(_ => new ConvBn(spec.InChannels, spec.OutChannels, spec.KernelSize, spec.Stride, spec.Padding, spec.Groups, spec.Dilation))
                .ToArray());
            // The 1x1 scale branch has no taps to spread: it stays undilated, and its kernel zero-padded to kxk
            // is the centre tap of the dilated kernel, so the fold stays exact.
            if (spec.HasScale) rbr_scale = new ConvBn(spec.InChannels, spec.OutChannels, 1, spec.Stride, 0, spec.Groups);
        }
        RegisterComponents();
    }

    // Field names are Apple's state-dict names, declared in its registration order (se, then the
    // branches), which TorchSharp follows when it registers fields.
#pragma warning disable IDE1006
    private readonly SqueezeExcite? se;
    private readonly Conv2d? reparam_conv;
    private readonly BatchNorm2d? rbr_skip;
    private readonly ModuleList<ConvBn>? rbr_conv;
    private readonly ConvBn? rbr_scale;
#pragma warning restore IDE1006

    /// <summary>The block's shape: channels, kernel, stride, groups, branches.</summary>
    public MobileOneBlockSpec Spec { get; }

    /// <summary>True when the block is in fused (inference) form.</summary>
    public bool IsFused => reparam_conv is not null;

    /// <summary>The k conv+BN branches (train-time form only).</summary>
    public ModuleList<ConvBn>? ConvBranches => rbr_conv;

    /// <summary>The 1x1 conv+BN scale branch, when the kernel is larger than 1 (train-time form only).</summary>
    public ConvBn? Scale => rbr_scale;

    /// <summary>The BatchNorm skip branch, when input and output shapes agree (train-time form only).</summary>
    public BatchNorm2d? Skip => rbr_skip;

    /// <summary>The fused convolution (inference form only).</summary>
    public Conv2d? ReparamConv => reparam_conv;

    /// <summary>The Squeeze-Excite module, when the block uses one.</summary>
    public SqueezeExcite? Se => se;

    /// <summary>
    /// In training mode, run the k conv branches of an ungrouped block (pointwise blocks and the stem) as
    /// one stacked convolution and BatchNorm (<see cref="ConvBranchStack"/>: the same function, 2-10 %
    /// faster steps on a 2-core CPU). False runs each branch on its own, as Apple's code does. Depthwise
    /// blocks (stacked, they measured 13-21 % slower) and evaluation always run the branches one by one,
    /// in the reference's order.
    /// </summary>
    public bool StackBranches { get; set; } = true;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var sum = ReparamConv is not null ? ReparamConv.call(x) : BranchSum(x);
        if (Se is not null) sum = Se.call(sum);
        // In place: the sum is this block's own temporary, and ReLU's backward needs only its result.
        return sum.relu_().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The sum of the train-time branches, in the reference's order (scale + skip, then each conv branch),
    /// accumulated in place as the reference's <c>out += ...</c> is. Each branch output is freed as soon as it
    /// is added: held to the end of the block, they cost several activation-sized buffers per block (issue 12).
    /// </summary>
    private Tensor BranchSum(Tensor x)
    {
        Tensor? acc = null;
        void Add(Tensor branch)
        {
            if (acc is null) acc = branch;
            else
            {
                acc.add_(branch, Scalars.One); // a BatchNorm output or a sum: nothing autograd saved
                branch.Dispose();
            }
        }
        if (Scale is not null) Add(Scale.call(x));
        if (Skip is not null) Add(Skip.call(x));
        if (training && StackBranches && Spec.Groups == 1 && ConvBranches!.Count > 1)
            Add(ConvBranchStack.TrainingSum(ConvBranches, Spec, x));
        else
            foreach (var branch in ConvBranches!) Add(branch.call(x));
        return acc!;
    }
}
