using System.Diagnostics;
using MobileOne.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// Trains any <see cref="ITrainingTask{TBatch}"/> with the paper's recipe (SGD with momentum, linear warm-up
/// then cosine learning rate, cosine-annealed weight decay, EMA of the weights, progressive resizing with
/// rising augmentation), writing metrics, plots and atomic checkpoints into a run folder, and resuming from
/// it exactly.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// The options of a run in <paramref name="run"/>. A new run takes <paramref name="options"/> and refuses a
    /// folder that already holds one. A resumed run takes the saved options; <paramref name="options"/>, if
    /// given, may only change what does not alter the result (step and time limits, threads, workers,
    /// checkpoint interval).
    /// </summary>
    public static TrainOptions Reconcile(TrainOptions? options, RunFolder run, bool resume)
    {
        if (resume)
        {
            if (!run.CanResume) throw new MobileOneException($"{run.Path}: nothing to resume (no state.safetensors and config.json)");
            var saved = run.ReadConfig();
            options = options is null ? saved : saved with
            {
                MaxSteps = options.MaxSteps, TimeBudgetSeconds = options.TimeBudgetSeconds, Threads = options.Threads,
                Workers = options.Workers, CheckpointEvery = options.CheckpointEvery,
            };
        }
        else if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }
        else if (run.CanResume)
        {
            throw new MobileOneException($"{run.Path} already holds a run: resume it, or train into another folder");
        }
        return options.Validated();
    }

    /// <summary>
    /// Runs (or, with <paramref name="resume"/>, continues) <paramref name="task"/> with the recipe of
    /// <paramref name="options"/> (reconciled by <see cref="Reconcile"/>) in <paramref name="run"/>. Cancelling
    /// <paramref name="cancel"/> stops after the current step with a resumable checkpoint.
    /// </summary>
    public static TrainingResult Run<TBatch>(ITrainingTask<TBatch> task, TrainOptions options, RunFolder run, bool resume,
        ITrainingObserver observer, CancellationToken cancel = default) where TBatch : IBatch
    {
        if (options.Threads > 0) torch.set_num_threads(options.Threads);
        int perEpoch = task.BatchesPerEpoch;
        long total = (long)perEpoch * options.Epochs;
        using var state = TrainingState.Create(task, options, total, perEpoch, resume, observer.Message);
        var history = new List<EpochMetrics>();
        if (resume)
        {
            state.Restore(run);
            var p = state.Position;
            history = run.ReadMetrics().Where(m => m.Epoch < p.Epoch).ToList();
            observer.Message($"resuming {run.Path} at step {p.Step:N0} (epoch {p.Epoch + 1}, batch {p.BatchInEpoch})");
        }
        else
        {
            run.WriteConfig(options, task.ModelConfigJson, task.ClassNames);
            observer.Message($"training {task.Description}");
        }
        observer.Started(state.Position.Step, total, perEpoch, run.Path);
        var loop = new Loop<TBatch>(task, options, run, state, observer, total, cancel);
        if (state.Position.Step < total && loop.AtLimit(state.Position.Step, state.Position.ElapsedSeconds))
        {
            observer.Message($"the run is already at its step or time limit (step {state.Position.Step:N0}); raise the limit to continue");
            return new TrainingResult(TrainingOutcome.StoppedAtLimit, state.Position.Step, history, state.Position.BestScore, run.Path);
        }
        var outcome = TrainingOutcome.Completed;
        for (int epoch = state.Position.Epoch; epoch < options.Epochs && outcome == TrainingOutcome.Completed; epoch++)
        {
            var done = loop.TrainEpoch(epoch);
            outcome = done.Outcome;
            if (outcome == TrainingOutcome.Interrupted || done.Samples == 0) break;
            history.Add(loop.FinishEpoch(epoch, done));
            run.WriteMetrics(history);
            TrainingPlots.Write(history, run.Path, task.PrimaryMetric);
            observer.Epoch(history[^1]);
        }
        return new TrainingResult(outcome, state.Position.Step, history, state.Position.BestScore, run.Path);
    }

    /// <summary>What one epoch's training did.</summary>
    private sealed record EpochRun(TrainingOutcome Outcome, long Samples, int LastBatch, MetricSet Train, double Seconds);

    /// <summary>The pieces of a run: one step, one epoch, and the evaluation and saving that end an epoch.</summary>
    private sealed class Loop<TBatch>(ITrainingTask<TBatch> task, TrainOptions options, RunFolder run, TrainingState state,
        ITrainingObserver observer, long total, CancellationToken cancel) where TBatch : IBatch
    {
        private readonly double elapsedBefore = state.Position.ElapsedSeconds;
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly int perEpoch = task.BatchesPerEpoch;

        private double Elapsed => elapsedBefore + clock.Elapsed.TotalSeconds;

        public bool AtLimit(long step, double elapsed) =>
            (options.MaxSteps > 0 && step >= options.MaxSteps) || (options.TimeBudgetSeconds > 0 && elapsed >= options.TimeBudgetSeconds);

        private (int Size, double Strength) Settings(int epoch, int batch) =>
            options.ProgressiveSettings((double)((long)epoch * perEpoch + batch) / total);

        public EpochRun TrainEpoch(int epoch)
        {
            var start = state.Position;
            int startBatch = epoch == start.Epoch ? start.BatchInEpoch : 0;
            long step = start.Step, emaUpdates = start.EmaUpdates, seen = 0;
            var sums = new MetricSums();
            var epochClock = Stopwatch.StartNew();
            int lastBatch = startBatch - 1;
            state.Model.train();
            foreach (var batch in task.Epoch(epoch, startBatch, b => Settings(epoch, b), cancel))
            {
                var stepClock = Stopwatch.StartNew();
                double loss = Step(batch, step, sums);
                state.Ema?.Update(emaUpdates++);
                step++;
                seen += batch.Count;
                lastBatch = batch.Index;
                double rate = seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9);
                observer.Step(new StepInfo(epoch, options.Epochs, batch.Index, perEpoch, step, total, loss, state.Sgd.LearningRate,
                    batch.Count / stepClock.Elapsed.TotalSeconds, TimeSpan.FromSeconds((total - step) * task.BatchSize / Math.Max(rate, 1e-9)), batch.Size));

                bool lastOfEpoch = batch.Index == perEpoch - 1;
                var position = new RunFolder.Position(step, lastOfEpoch ? epoch + 1 : epoch, lastOfEpoch ? 0 : batch.Index + 1, emaUpdates, start.BestScore, Elapsed);
                state.Position = position;
                var outcome = cancel.IsCancellationRequested ? TrainingOutcome.Interrupted
                    : AtLimit(step, position.ElapsedSeconds) ? TrainingOutcome.StoppedAtLimit : TrainingOutcome.Completed;
                if (outcome != TrainingOutcome.Completed || (!lastOfEpoch && options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0))
                    SaveCheckpoint();
                if (outcome != TrainingOutcome.Completed)
                    return new EpochRun(outcome, seen, lastBatch, sums.Means(), epochClock.Elapsed.TotalSeconds);
            }
            return new EpochRun(TrainingOutcome.Completed, seen, lastBatch, sums.Means(), epochClock.Elapsed.TotalSeconds);
        }

        /// <summary>One optimisation step: the task's loss, back-propagated, and an SGD update at the scheduled rates.</summary>
        private double Step(TBatch batch, long step, MetricSums sums)
        {
            state.Sgd.LearningRate = state.Schedule.LearningRate((int)step);
            state.Sgd.WeightDecay = state.Schedule.WeightDecay((int)step);
            double loss = TrainingStep.Take(state.Sgd, () => task.Loss(state.Model, batch, state.DType, StepSeed(options.Seed, step), sums));
            if (!double.IsFinite(loss))
                throw new MobileOneException($"the loss became {loss} at step {step}; lower the learning rate (now {state.Sgd.LearningRate:G3})");
            sums.Add("loss", loss * batch.Count, batch.Count);
            return loss;
        }

        private static long StepSeed(int seed, long step) => unchecked(seed * 1_000_003L + step);

        private void SaveCheckpoint()
        {
            task.SaveWeights(state.Model, run.File("last.pth.tar"));
            state.Save(run, state.Position);
            observer.Message($"checkpoint at step {state.Position.Step:N0} written to {run.StateFile}");
        }

        /// <summary>The end of an epoch (or of a run stopped at its limit): evaluate, keep the best, checkpoint.</summary>
        public EpochMetrics FinishEpoch(int epoch, EpochRun done)
        {
            var val = task.Evaluate(state.Model);
            var emaVal = state.Ema is null ? null : task.Evaluate(state.Ema.Model);
            var (lr, wd) = (state.Sgd.LearningRate, state.Sgd.WeightDecay);
            var metrics = new EpochMetrics(epoch, state.Position.Step, done.Train, val, emaVal, lr, wd,
                Settings(epoch, Math.Max(done.LastBatch, 0)).Size, done.Seconds, done.Samples / done.Seconds);
            task.SaveWeights(state.Model, run.File("last.pth.tar"));
            if (state.Ema is not null) task.SaveWeights(state.Ema.Model, run.File("ema.pth.tar"));
            double score = val[task.PrimaryMetric], emaScore = emaVal?[task.PrimaryMetric] ?? double.NegativeInfinity;
            double best = state.Position.BestScore;
            // The first evaluation always makes a best, even at a score of 0 (an untrained detector's mAP).
            if (Math.Max(score, emaScore) > best || !File.Exists(run.File("best.pth.tar")))
            {
                best = Math.Max(score, emaScore);
                task.SaveWeights(emaScore > score ? state.Ema!.Model : state.Model, run.File("best.pth.tar"));
            }
            state.Save(run, state.Position with { BestScore = best, ElapsedSeconds = Elapsed });
            return metrics;
        }
    }
}
