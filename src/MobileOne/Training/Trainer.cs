using System.Diagnostics;
using MobileOne.Data;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// Trains a MobileOne with the paper's recipe (SGD with momentum, linear warm-up then cosine learning
/// rate, cosine-annealed weight decay, label smoothing, EMA of the weights, progressive resizing with
/// rising augmentation), writing metrics, plots and atomic checkpoints into a run folder, and resuming
/// from it exactly.
/// </summary>
public static class Trainer
{
    /// <summary>
    /// Runs (or, with <paramref name="resume"/>, continues) training in <paramref name="runDirectory"/>.
    /// Cancelling <paramref name="cancel"/> stops after the current step with a resumable checkpoint.
    /// When resuming, the saved configuration is used; <paramref name="options"/>, if given, may only change
    /// what does not alter the result (step and time limits, threads, workers, checkpoint interval).
    /// </summary>
    public static TrainingResult Run(TrainOptions? options, string runDirectory, bool resume, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var run = new RunFolder(runDirectory);
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
            throw new MobileOneException($"{run.Path} already holds a run; continue it with --resume {runDirectory}, or choose another --out");
        }
        options = options.Validated();
        var config = Models.MobileOneConfig.FromJson(options.Model, "model configuration");
        if (config.InChannels != options.Channels)
            throw new MobileOneException($"the model takes {config.InChannels} input channels, the data pipeline produces {options.Channels}");
        if (options.Threads > 0) torch.set_num_threads(options.Threads);

        var (trainSet, valSet) = TrainingData.Load(options.Data, options.TrainSubset, options.ValSubset);
        if (trainSet.ClassNames.Count != config.NumClasses)
            throw new MobileOneException($"{trainSet.Description} has {trainSet.ClassNames.Count} classes; the model has {config.NumClasses}");

        using var model = new MobileOneModel(config);
        WeightInit.Reset(model, options.Seed);
        var dtype = options.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        if (options.Bf16) model.to(dtype);
        using var sgd = new Sgd(model.named_parameters(), options.Momentum, options.Nesterov, options.DecayNormAndBias);
        using var ema = options.EmaDecay > 0 ? new ModelEma(model, options.EmaDecay) : null;

        var transform = new TrainTransform
        {
            ScaleMin = options.CropScaleMin,
            HorizontalFlip = options.HorizontalFlip,
            EraseProbability = options.RandomErasing,
            Policy = options.Augment,
            RandAugmentM = options.RandAugmentMagnitude,
            Normalization = new ImagePreprocessor { Mean = options.Mean, Std = options.Std, Channels = options.Channels },
        };
        var loader = new DataLoader(trainSet, transform.Apply, options.BatchSize, options.Channels, shuffle: true, dropLast: true, options.Seed, options.Workers);
        var valLoader = options.EvalLoader(valSet, Math.Max(options.BatchSize, 64));
        int perEpoch = loader.BatchesPerEpoch;
        long total = (long)perEpoch * options.Epochs;
        var schedule = CosineSchedule.ForRun(options.EffectiveLr, options.MinLr, (int)Math.Round(options.WarmupEpochs * perEpoch), (int)total,
            options.WeightDecay, options.WeightDecayEnd, observer.Message);

        var position = new RunFolder.Position(0, 0, 0, 0, 0, 0);
        var history = new List<EpochMetrics>();
        if (resume)
        {
            position = run.LoadState(model, ema, sgd);
            history = run.ReadMetrics().Where(m => m.Epoch < position.Epoch).ToList();
            observer.Message($"resuming {run.Path} at step {position.Step:N0} (epoch {position.Epoch + 1}, batch {position.BatchInEpoch})");
        }
        else
        {
            run.WriteConfig(options, config);
            observer.Message($"training {config} on {trainSet.Description}; validating on {valSet.Description}");
        }
        observer.Started(position.Step, total, perEpoch, $"{run.Path}");

        long step = position.Step, emaUpdates = position.EmaUpdates;
        double best = position.BestTop1, elapsedBefore = position.ElapsedSeconds;
        var clock = Stopwatch.StartNew();
        var outcome = TrainingOutcome.Completed;
        (int Size, double Strength) Settings(int epoch, int batch) => options.ProgressiveSettings((double)((long)epoch * perEpoch + batch) / total);

        bool AtLimit(double elapsed) => (options.MaxSteps > 0 && step >= options.MaxSteps) || (options.TimeBudgetSeconds > 0 && elapsed >= options.TimeBudgetSeconds);
        if (step < total && AtLimit(elapsedBefore))
        {
            observer.Message($"the run is already at its step or time limit (step {step:N0}); raise --max-steps or --time-budget to continue");
            return new TrainingResult(TrainingOutcome.StoppedAtLimit, step, history, best, run.Path);
        }
        for (int epoch = position.Epoch; epoch < options.Epochs && outcome == TrainingOutcome.Completed; epoch++)
        {
            int startBatch = epoch == position.Epoch ? position.BatchInEpoch : 0;
            double lossSum = 0;
            long correct = 0, seen = 0;
            var epochClock = Stopwatch.StartNew();
            int lastBatch = startBatch - 1;
            model.train();
            foreach (var batch in loader.Epoch(epoch, startBatch, b => Settings(epoch, b), cancel))
            {
                var stepClock = Stopwatch.StartNew();
                sgd.LearningRate = schedule.LearningRate((int)step);
                sgd.WeightDecay = schedule.WeightDecay((int)step);
                double loss;
                using (var scope = NewDisposeScope())
                {
                    var x = tensor(batch.Images, [batch.Count, batch.Channels, batch.Size, batch.Size]).to(dtype);
                    var y = tensor(batch.Labels);
                    var logits = model.forward(x);
                    var l = LabelSmoothing.CrossEntropy(logits, y, options.LabelSmoothing);
                    l.backward();
                    sgd.Step();
                    sgd.ZeroGrad();
                    loss = l.item<float>();
                    correct += logits.argmax(1).eq(y).sum().item<long>();
                }
                if (!double.IsFinite(loss))
                    throw new MobileOneException($"the loss became {loss} at step {step}; lower the learning rate (now {sgd.LearningRate:G3})");
                ema?.Update(emaUpdates++);
                step++;
                seen += batch.Count;
                lossSum += loss * batch.Count;
                lastBatch = batch.Index;
                double elapsed = elapsedBefore + clock.Elapsed.TotalSeconds;
                double rate = seen / Math.Max(epochClock.Elapsed.TotalSeconds, 1e-9);
                observer.Step(new StepInfo(epoch, options.Epochs, batch.Index, perEpoch, step, total, loss, sgd.LearningRate,
                    batch.Count / stepClock.Elapsed.TotalSeconds, TimeSpan.FromSeconds((total - step) * options.BatchSize / Math.Max(rate, 1e-9)), batch.Size));

                bool interrupted = cancel.IsCancellationRequested;
                bool limit = AtLimit(elapsed);
                bool lastOfEpoch = batch.Index == perEpoch - 1;
                if (interrupted || limit || (!lastOfEpoch && options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0))
                {
                    var pos = new RunFolder.Position(step, lastOfEpoch ? epoch + 1 : epoch, lastOfEpoch ? 0 : batch.Index + 1, emaUpdates, best, elapsed);
                    run.SaveWeights("last.pth.tar", model);
                    run.SaveState(model, ema, sgd, pos);
                    observer.Message($"checkpoint at step {step:N0} written to {run.StateFile}");
                }
                if (interrupted) { outcome = TrainingOutcome.Interrupted; break; }
                if (limit) { outcome = TrainingOutcome.StoppedAtLimit; break; }
            }
            if (outcome == TrainingOutcome.Interrupted || seen == 0) break;

            // End of the epoch (or of a run stopped at its limit): evaluate, record, checkpoint.
            double trainSeconds = epochClock.Elapsed.TotalSeconds;
            var val = Evaluator.Evaluate(model, valLoader, options.ImageSize, valSet.ClassNames, options.LabelSmoothing);
            var emaVal = ema is null ? null : Evaluator.Evaluate(ema.Model, valLoader, options.ImageSize, valSet.ClassNames, options.LabelSmoothing);
            var metrics = new EpochMetrics(epoch, step, lossSum / seen, (double)correct / seen, val.Loss, val.Top1, val.Top5, emaVal?.Top1, emaVal?.Top5,
                sgd.LearningRate, sgd.WeightDecay, Settings(epoch, Math.Max(lastBatch, 0)).Size, trainSeconds, seen / trainSeconds);
            history.Add(metrics);
            run.WriteMetrics(history);
            TrainingPlots.Write(history, run.Path);
            observer.Epoch(metrics);
            run.SaveWeights("last.pth.tar", model);
            if (ema is not null) run.SaveWeights("ema.pth.tar", ema.Model);
            double top1 = Math.Max(val.Top1, emaVal?.Top1 ?? 0);
            if (top1 > best)
            {
                best = top1;
                run.SaveWeights("best.pth.tar", emaVal is not null && emaVal.Top1 > val.Top1 ? ema!.Model : model);
            }
            bool finishedEpoch = lastBatch == perEpoch - 1;
            run.SaveState(model, ema, sgd, new RunFolder.Position(step, finishedEpoch ? epoch + 1 : epoch, finishedEpoch ? 0 : lastBatch + 1,
                emaUpdates, best, elapsedBefore + clock.Elapsed.TotalSeconds));
        }
        if (outcome == TrainingOutcome.Interrupted)
            observer.Message($"interrupted at step {step:N0}; continue with: ./mobileone train --resume {runDirectory}");
        return new TrainingResult(outcome, step, history, best, run.Path);
    }
}
