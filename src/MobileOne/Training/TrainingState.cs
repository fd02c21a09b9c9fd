using MobileOne.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// What a run trains and keeps: the model, its optimiser, its EMA and the schedules, built from a task and
/// the recipe's options; and its place in the run (<see cref="Position"/>), restored from a run folder when resuming.
/// </summary>
public sealed class TrainingState : IDisposable
{
    private TrainingState(nn.Module model, Sgd sgd, ModelEma? ema, CosineSchedule schedule, ScalarType dtype)
    {
        Model = model;
        Sgd = sgd;
        Ema = ema;
        Schedule = schedule;
        DType = dtype;
    }

    /// <summary>The model being trained.</summary>
    public nn.Module Model { get; }

    /// <summary>Its optimiser (frozen parameters left out).</summary>
    public Sgd Sgd { get; }

    /// <summary>The moving average of its weights, if the recipe keeps one.</summary>
    public ModelEma? Ema { get; }

    /// <summary>Learning rate and weight decay per step.</summary>
    public CosineSchedule Schedule { get; }

    /// <summary>The dtype of weights and activations (bfloat16 or float32).</summary>
    public ScalarType DType { get; }

    /// <summary>Where the run is.</summary>
    public RunFolder.Position Position { get; set; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>
    /// Builds the model (initialised by the task unless <paramref name="resuming"/>, when the saved state
    /// will overwrite it), the optimiser with the task's learning-rate factors, the EMA and the schedule
    /// of a run of <paramref name="totalSteps"/> steps.
    /// </summary>
    public static TrainingState Create<TBatch>(ITrainingTask<TBatch> task, TrainOptions options, long totalSteps, int stepsPerEpoch, bool resuming, Action<string> log)
        where TBatch : IBatch
    {
        var model = task.CreateModel();
        try
        {
            if (!resuming) task.Initialize(model, log);
            var dtype = options.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
            if (options.Bf16) model.to(dtype);
            var sgd = new Sgd(model.named_parameters(), options.Momentum, options.Nesterov, options.DecayNormAndBias, task.LearningRateScale)
            {
                MaxGradNorm = options.ClipGradNorm,
            };
            var ema = options.EmaDecay > 0 ? new ModelEma(model, task.CreateModel(), options.EmaDecay) : null;
            var schedule = CosineSchedule.ForRun(options.EffectiveLr, options.MinLr, (int)Math.Round(options.WarmupEpochs * stepsPerEpoch), (int)totalSteps,
                options.WeightDecay, options.WeightDecayEnd, log);
            return new TrainingState(model, sgd, ema, schedule, dtype);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Saves the resumable state at <paramref name="position"/>.</summary>
    public void Save(RunFolder run, RunFolder.Position position)
    {
        Position = position;
        run.SaveState(Model, Ema, Sgd, position);
    }

    /// <summary>Restores what <see cref="Save"/> wrote.</summary>
    public void Restore(RunFolder run) => Position = run.LoadState(Model, Ema, Sgd);

    /// <inheritdoc/>
    public void Dispose()
    {
        Sgd.Dispose();
        Ema?.Dispose();
        Model.Dispose();
    }
}
