using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Reparameterization;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>
/// A checkpoint ready to run on a <c>.npy</c> batch: the batch read and checked (its rank before the
/// checkpoint is read, its channels and size against the network after), the network at the requested
/// output stride, fused if asked, in eval mode. Call inside a dispose scope: the input is a tensor.
/// </summary>
/// <param name="Checkpoint">The checkpoint as loaded.</param>
/// <param name="Network">The network to run (the loaded one, or its fused or re-strided form).</param>
/// <param name="Input">The batch [N, C, H, W].</param>
/// <param name="InputPath">Where the batch came from (for messages).</param>
public sealed record CheckpointBatch(LoadedCheckpoint Checkpoint, MobileOneModel Network, Tensor Input, string InputPath)
{
    /// <summary>
    /// Reads <paramref name="inputPath"/> and loads <paramref name="checkpointPath"/> (as <paramref name="config"/>
    /// describes it, or as inferred); sets the output stride when given, and fuses when <paramref name="fuse"/>.
    /// </summary>
    public static CheckpointBatch Load(string checkpointPath, string inputPath, MobileOneConfig? config = null,
        int? outputStride = null, bool fuse = false, Action<string>? warn = null)
    {
        // Refuse a bad stride before the (possibly large) checkpoint is read.
        if (outputStride is int os) MobileOneConfig.CheckOutputStride(os);
        var x = NpyFile.Read(inputPath);
        MobileOneModel.CheckInput(x.shape, config?.InChannels, inputPath);
        var loaded = MobileOneCheckpoint.Load(checkpointPath, config);
        var net = outputStride is int stride && stride != loaded.Model.Config.MaxOutputStride
            ? loaded.Model.WithOutputStride(stride)
            : loaded.Model;
        if (fuse && !net.IsFused) net = Reparameterizer.Fuse(net, warn);
        net.eval();
        net.CheckInput(x.shape, inputPath);
        return new CheckpointBatch(loaded, net, x, inputPath);
    }

    /// <summary>Runs <paramref name="forward"/> on the network and the batch without autograd; a LibTorch failure becomes the project's error.</summary>
    public T Run<T>(Func<MobileOneModel, Tensor, T> forward)
    {
        using var noGrad = no_grad();
        return TorchErrors.Run(() => forward(Network, Input), $"running the model on {InputPath}");
    }
}
