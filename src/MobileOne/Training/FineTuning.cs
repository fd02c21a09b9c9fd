using MobileOne.Checkpoints;
using MobileOne.Models;
using TorchSharp;

namespace MobileOne.Training;

/// <summary>
/// Starting a run from pretrained weights, as most users of a backbone do: any checkpoint the project reads
/// (Apple, timm or mmpretrain layout; PyTorch zip or safetensors) initialises the model; a classifier of
/// another class count is replaced by a new one.
/// </summary>
public static class FineTuning
{
    /// <summary>The prefix of the classifier's tensors in Apple's layout.</summary>
    public const string ClassifierPrefix = "linear.";

    /// <summary>
    /// Reads the train-time architecture of <paramref name="path"/>; a fused (reparameterised) checkpoint is
    /// refused, since its single convolutions cannot be split back into the branches that training needs.
    /// </summary>
    public static CheckpointContents ReadPretrained(string path)
    {
        var contents = MobileOneCheckpoint.Read(path);
        if (contents.Fused)
            throw new CheckpointException($"{path}: the checkpoint is fused (reparameterised into one convolution per block); " +
                                          "training needs the train-time branches, so start from the checkpoint the fused one was made from");
        return contents;
    }

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>. Every tensor must fit, except the classifier's
    /// when the class counts differ: that one starts from random weights drawn from <paramref name="seed"/>, and
    /// <paramref name="log"/> says so. A backbone of another architecture is an error naming both.
    /// </summary>
    public static void LoadPretrained(MobileOneModel model, string path, long seed, Action<string> log)
    {
        var contents = ReadPretrained(path);
        var found = contents.Config;
        if (found.InChannels != model.Config.InChannels)
            throw new CheckpointException($"{path}: the checkpoint takes {found.InChannels} input channel(s), the data pipeline produces {model.Config.InChannels}");
        // Strides change no weight: the run's hold.
        if (!model.Config.SameBackbone(found.WithInput(found.InChannels, model.Config.Strides), ignoreBranches: false))
            throw new CheckpointException($"{path}: the checkpoint's architecture ({found}) differs from the one being trained ({model.Config})");
        bool newHead = found.NumClasses != model.Config.NumClasses;
        if (newHead)
        {
            var weights = new StateDict(contents.Weights.Where(kv => !kv.Key.StartsWith(ClassifierPrefix, StringComparison.Ordinal)));
            MobileOneCheckpoint.LoadInto(model, weights, path, keep: key => key.StartsWith(ClassifierPrefix, StringComparison.Ordinal));
            WeightInit.Reset(model.Linear, seed);
            log($"{path}: its classifier has {found.NumClasses} classes, the data {model.Config.NumClasses}; the classifier starts from random weights, everything else from the checkpoint");
        }
        else
        {
            MobileOneCheckpoint.LoadInto(model, contents.Weights, path);
            log($"{path}: every weight loaded, the classifier's {found.NumClasses} classes included");
        }
    }
}
