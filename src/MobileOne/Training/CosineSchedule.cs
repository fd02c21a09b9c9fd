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

    /// <summary>Weight decay at <paramref name="step"/>.</summary>
    public double WeightDecay(int step)
    {
        double t = Math.Clamp((double)step / Math.Max(1, TotalSteps), 0, 1);
        return WeightDecayEnd + (WeightDecayStart - WeightDecayEnd) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }
}
