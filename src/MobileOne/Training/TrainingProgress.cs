namespace MobileOne.Training;

/// <summary>One optimisation step, as reported to an observer.</summary>
public sealed record StepInfo(int Epoch, int Epochs, int BatchInEpoch, int BatchesPerEpoch, long Step, long TotalSteps,
    double Loss, double LearningRate, double ImagesPerSecond, TimeSpan Eta, int ImageSize);

/// <summary>The metrics of one epoch (one line of metrics.jsonl).</summary>
public sealed record EpochMetrics(int Epoch, long Step, double TrainLoss, double TrainTop1, double ValLoss, double ValTop1, double ValTop5,
    double? EmaValTop1, double? EmaValTop5, double LearningRate, double WeightDecay, int ImageSize, double Seconds, double ImagesPerSecond);

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

/// <summary>The end of a run.</summary>
public sealed record TrainingResult(TrainingOutcome Outcome, long Steps, IReadOnlyList<EpochMetrics> History, double BestTop1, string RunDirectory);

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
