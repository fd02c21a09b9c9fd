namespace MobileOne.Checkpoints;

/// <summary>Key-naming conventions of the public MobileOne implementations (same tensors, other names).</summary>
public enum CheckpointLayout
{
    /// <summary>Apple's ml-mobileone: <c>stage0.rbr_conv.0.conv.weight</c>, <c>se.reduce</c>, <c>linear</c>.</summary>
    Apple,
    /// <summary>timm: <c>stem.conv_kxk.0.conv.weight</c>, <c>stages.N</c>, <c>identity</c>, <c>attn.fc1</c>, <c>head.fc</c>.</summary>
    Timm,
    /// <summary>mmpretrain: <c>backbone.stage0.branch_conv_list.0.norm</c>, <c>branch_reparam</c>, <c>se.conv1.conv</c>, <c>head.fc</c>.</summary>
    MMPretrain,
}
