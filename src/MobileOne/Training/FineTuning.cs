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
        var contents = ReadMatching(model, path);
        var found = contents.Config;
        if (found.NumClasses != model.Config.NumClasses)
        {
            LoadWithoutClassifier(model, contents, path);
            WeightInit.Reset(model.Linear, seed);
            log($"{path}: its classifier has {found.NumClasses} classes, the data {model.Config.NumClasses}; the classifier starts from random weights, everything else from the checkpoint");
        }
        else
        {
            MobileOneCheckpoint.LoadInto(model, contents.Weights, path);
            log($"{path}: every weight loaded, the classifier's {found.NumClasses} classes included");
        }
    }

    /// <summary>
    /// Loads the stem and stages of <paramref name="path"/> into <paramref name="model"/>, leaving its classifier as it
    /// is: a classification checkpoint as the backbone of another task (a detector's), whose classifier it does not use.
    /// </summary>
    public static void LoadBackbone(MobileOneModel model, string path, Action<string> log)
    {
        LoadWithoutClassifier(model, ReadMatching(model, path), path);
        log($"{path}: the backbone (stem and four stages) loaded; its classifier left out");
    }

    // The checkpoint, refused unless its architecture is the model's (strides aside: they change no weight).
    private static CheckpointContents ReadMatching(MobileOneModel model, string path)
    {
        var contents = ReadPretrained(path);
        var found = contents.Config;
        if (found.InChannels != model.Config.InChannels)
            throw new CheckpointException($"{path}: the checkpoint takes {found.InChannels} input channel(s), the data pipeline produces {model.Config.InChannels}");
        if (!model.Config.SameBackbone(found.WithInput(found.InChannels, model.Config.Strides), ignoreBranches: false))
            throw new CheckpointException($"{path}: the checkpoint's architecture ({found}) differs from the one being trained ({model.Config})");
        return contents;
    }

    private static void LoadWithoutClassifier(MobileOneModel model, CheckpointContents contents, string path)
    {
        static bool IsClassifier(string key) => key.StartsWith(ClassifierPrefix, StringComparison.Ordinal);
        MobileOneCheckpoint.LoadInto(model, new StateDict(contents.Weights.Where(kv => !IsClassifier(kv.Key))), path, keep: IsClassifier);
    }
}
