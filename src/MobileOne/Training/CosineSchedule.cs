namespace MobileOne.Training;

/// <summary>
/// The paper's schedules, per optimisation step: the learning rate rises linearly over the warm-up, then
/// follows a half cosine to <see cref="MinLr"/>; weight decay follows a half cosine over the whole run
/// from <see cref="WeightDecayStart"/> to <see cref="WeightDecayEnd"/> (the paper's annealed decay).
/// </summary>
public sealed record CosineSchedule(double BaseLr, double MinLr, int WarmupSteps, int TotalSteps, double WeightDecayStart, double WeightDecayEnd)
{
    /// <summary>Learning rate at <paramref name="step"/> (0-based).</summary>
    public double LearningRate(int step)
    {
        if (step < WarmupSteps) return BaseLr * (step + 1) / WarmupSteps;
        int span = Math.Max(1, TotalSteps - WarmupSteps);
        double t = Math.Clamp((double)(step - WarmupSteps) / span, 0, 1);
        return MinLr + (BaseLr - MinLr) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    /// <summary>
    /// The schedule of a run of <paramref name="totalSteps"/> steps whose warm-up asks for
    /// <paramref name="warmupSteps"/>. A warm-up that would not end before half the run is clamped to half of
    /// it, and <paramref name="warn"/> says so: otherwise a short run (one epoch against the default five of
    /// warm-up) never reaches its peak learning rate.
    /// </summary>
    public static CosineSchedule ForRun(double baseLr, double minLr, int warmupSteps, int totalSteps,
        double weightDecayStart, double weightDecayEnd, Action<string> warn)
    {
        int limit = totalSteps / 2;
        if (warmupSteps > limit)
        {
            warn($"the warm-up of {warmupSteps:N0} steps would take more than half of the {totalSteps:N0}-step run; it is shortened to {limit:N0} steps");
            warmupSteps = limit;
        }
        return new CosineSchedule(baseLr, minLr, warmupSteps, totalSteps, weightDecayStart, weightDecayEnd);
    }

    /// <summary>Weight decay at <paramref name="step"/>.</summary>
    public double WeightDecay(int step)
    {
        double t = Math.Clamp((double)step / Math.Max(1, TotalSteps), 0, 1);
        return WeightDecayEnd + (WeightDecayStart - WeightDecayEnd) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }
}
