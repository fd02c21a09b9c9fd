using MobileOne.Data;
using MobileOne.Export;
using MobileOne.Training;

namespace MobileOne.Inference;

/// <summary>
/// What a trained classifier expects of its input and what its outputs mean: the evaluation preprocessing of
/// its training run (size, crop, mean, std, channels) and the names of its classes. Every deploy verb takes
/// them from the same place: a checkpoint's run folder, or an exported graph's metadata.
/// </summary>
/// <param name="Preprocessing">How an image becomes the model's input.</param>
/// <param name="ClassNames">Class names by output index; null when nothing names them.</param>
public sealed record DeploySettings(ImagePreprocessor Preprocessing, IReadOnlyList<string>? ClassNames)
{
    /// <summary>ImageNet's evaluation preprocessing at 224 with <paramref name="channels"/> channels, no class names: a checkpoint from elsewhere.</summary>
    public static DeploySettings Default(int channels = 3) => new(new ImagePreprocessor { Channels = channels }.Validated(), null);

    /// <summary>
    /// The settings of the training run whose folder holds <paramref name="checkpoint"/> (its <c>config.json</c> and
    /// <c>classes.json</c>), else <see cref="Default"/> for <paramref name="channels"/>. A run written before the
    /// class names were kept names Fashion-MNIST's classes when it trained on Fashion-MNIST.
    /// </summary>
    public static DeploySettings ForCheckpoint(string checkpoint, int channels = 3)
    {
        if (RunFolder.Of(checkpoint) is not { } run) return Default(channels);
        var options = run.ReadConfig();
        var names = run.ReadClassNames() ?? (options.Data == TrainingData.FashionMnistName ? FashionMnist.Classes : null);
        return new DeploySettings(options.EvalPreprocessing(), names);
    }

    /// <summary>The settings an exported classifier records in its metadata (see <see cref="OnnxEngine.Preprocessing"/> and <see cref="OnnxEngine.ClassNames"/>).</summary>
    public static DeploySettings ForOnnx(OnnxEngine engine) => new(engine.Preprocessing(), engine.ClassNames());

    /// <summary><paramref name="options"/> recording these settings in the graph's metadata; the input size is left as given.</summary>
    public OnnxExportOptions Recorded(OnnxExportOptions options) =>
        options with { Mean = Preprocessing.Mean, Std = Preprocessing.Std, CropPct = Preprocessing.CropPct, ClassNames = ClassNames };

    /// <summary>Throws unless the names, if any, are one per output of a classifier of <paramref name="numClasses"/> classes.</summary>
    public DeploySettings CheckedFor(int numClasses, string source)
    {
        if (ClassNames is { } names && names.Count != numClasses)
            throw new MobileOneException($"{source}: {names.Count} class names for a classifier with {numClasses} classes");
        return this;
    }
}
