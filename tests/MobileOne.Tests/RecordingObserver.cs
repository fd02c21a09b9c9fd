using MobileOne.Training;

namespace MobileOne.Tests;

/// <summary>A training observer that keeps what it is told, and can cancel the run at a given step.</summary>
internal sealed class RecordingObserver(int cancelAtStep = -1, CancellationTokenSource? cancel = null) : ITrainingObserver
{
    public List<StepInfo> Steps { get; } = [];
    public List<EpochMetrics> Epochs { get; } = [];
    public List<string> Messages { get; } = [];

    public void Started(long step, long totalSteps, int batchesPerEpoch, string description) { }

    public void Step(StepInfo info)
    {
        Steps.Add(info);
        if (info.Step == cancelAtStep) cancel!.Cancel();
    }

    public void Epoch(EpochMetrics metrics) => Epochs.Add(metrics);

    public void Message(string text) => Messages.Add(text);
}
