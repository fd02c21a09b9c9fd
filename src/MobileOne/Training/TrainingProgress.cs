namespace MobileOne.Training;

/// <summary>One optimisation step, as reported to an observer.</summary>
public sealed record StepInfo(int Epoch, int Epochs, int BatchInEpoch, int BatchesPerEpoch, long Step, long TotalSteps,
    double Loss, double LearningRate, double ImagesPerSecond, TimeSpan Eta, int ImageSize);

/// <summary>
/// The metrics of one epoch (one line of metrics.jsonl): the task's training statistics, validation metrics of
/// the model and of its EMA (each with <c>loss</c>), and the recipe's state.
/// </summary>
public sealed record EpochMetrics(int Epoch, long Step, MetricSet Train, MetricSet Val, MetricSet? EmaVal,
    double LearningRate, double WeightDecay, int ImageSize, double Seconds, double ImagesPerSecond)
{
    /// <summary>Mean training loss of the epoch.</summary>
    public double TrainLoss => Train["loss"];

    /// <summary>Validation loss.</summary>
    public double ValLoss => Val["loss"];

    /// <summary>One line for a log: losses, then each other metric as a percentage.</summary>
    public string Describe()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        // Losses as they are, rates in percent; a negative rate is COCO's "undefined" (no object of that kind).
        static string Value(string key, double v) =>
            key.EndsWith("loss", StringComparison.Ordinal) ? v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)
            : v < 0 ? "n/a" : v.ToString("P2", System.Globalization.CultureInfo.InvariantCulture);
        static string Part(string label, MetricSet set) => label + string.Concat(set.Select(m => $" {m.Key} {Value(m.Key, m.Value)}"));
        return string.Format(inv, "epoch {0}: {1} | {2}{3} | {4:F0} s, {5:F0} img/s", Epoch + 1, Part("train", Train), Part("val", Val),
            EmaVal is null ? "" : " | " + Part("EMA", EmaVal), Seconds, ImagesPerSecond);
    }
}

/// <summary>How a run ended.</summary>
public enum TrainingOutcome
{
    /// <summary>All epochs ran.</summary>
    Completed,
    /// <summary>Stopped by Ctrl-C or SIGTERM after saving a resumable checkpoint.</summary>
    Interrupted,
    /// <summary>Stopped at the step or time limit after saving a resumable checkpoint.</summary>
    StoppedAtLimit,
}

/// <summary>The end of a run: <paramref name="BestScore"/> is the best validation value of the task's primary metric (model or EMA).</summary>
public sealed record TrainingResult(TrainingOutcome Outcome, long Steps, IReadOnlyList<EpochMetrics> History, double BestScore, string RunDirectory);

/// <summary>Receives progress from a <see cref="Trainer"/>.</summary>
public interface ITrainingObserver
{
    /// <summary>Training starts (or resumes) at <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    void Started(long step, long totalSteps, int batchesPerEpoch, string description);

    /// <summary>After each step.</summary>
    void Step(StepInfo info);

    /// <summary>After each epoch's evaluation.</summary>
    void Epoch(EpochMetrics metrics);

    /// <summary>A notable event (checkpoint written, interruption, ...).</summary>
    void Message(string text);
}
