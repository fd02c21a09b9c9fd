using MobileOne.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// A task that <see cref="Trainer"/> trains: it builds the model and its data, turns a batch into a loss, and
/// evaluates. The recipe around it (schedules, EMA, checkpoints, resume, progress, metrics, plots) is the
/// loop's and is shared by every task; classification is <see cref="Classification.ClassificationTask"/>.
/// </summary>
/// <typeparam name="TBatch">The task's batches.</typeparam>
public interface ITrainingTask<TBatch> where TBatch : IBatch
{
    /// <summary>What is trained on what, for the log.</summary>
    string Description { get; }

    /// <summary>The validation metric that chooses <c>best.pth.tar</c>; higher is better.</summary>
    string PrimaryMetric { get; }

    /// <summary>The model's configuration, written beside its checkpoints so that other tools can rebuild it.</summary>
    string ModelConfigJson { get; }

    /// <summary>The names of the classes the model tells apart, by output index, kept in the run folder; null when the task has none to keep.</summary>
    IReadOnlyList<string>? ClassNames => null;

    /// <summary>A new model of the task's architecture, with arbitrary weights (the EMA needs a second one).</summary>
    nn.Module CreateModel();

    /// <summary>Sets the weights of a new run (random, or from pretrained ones); not called when resuming.</summary>
    void Initialize(nn.Module model, Action<string> log);

    /// <summary>The factor on the learning rate of a parameter, by name (1 for most; heads may learn faster).</summary>
    double LearningRateScale(string parameterName);

    /// <summary>Batches per epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Nominal samples per batch (for time estimates).</summary>
    int BatchSize { get; }

    /// <summary>
    /// The training batches of <paramref name="epoch"/> from <paramref name="startBatch"/> on, the same for a
    /// given epoch whenever it is asked for; <paramref name="settings"/> gives a batch's input size and
    /// augmentation strength.
    /// </summary>
    IEnumerable<TBatch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel);

    /// <summary>
    /// The training loss of <paramref name="batch"/> (a scalar that the loop back-propagates), with inputs in
    /// <paramref name="dtype"/>; the task adds its own running statistics (e.g. accuracy) to <paramref name="train"/>.
    /// Random layers (dropout) draw from <paramref name="seed"/>, which the loop derives from the run's seed and
    /// the step, so that a resumed run draws what an uninterrupted one does, whatever else the process runs.
    /// </summary>
    Tensor Loss(nn.Module model, TBatch batch, ScalarType dtype, long seed, MetricSums train);

    /// <summary>Validation metrics of <paramref name="model"/>, including <c>loss</c> and <see cref="PrimaryMetric"/>.</summary>
    MetricSet Evaluate(nn.Module model);

    /// <summary>Writes the weights of <paramref name="model"/> where other tools read them, atomically.</summary>
    void SaveWeights(nn.Module model, string path);
}
