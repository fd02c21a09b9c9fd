using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>
/// The training loop serves any task: a task that is not classification (a linear regression on generated
/// points, with its own batch type, loss and metric) runs through the same recipe, writes the same run
/// folder, picks its best checkpoint by its own metric, and resumes exactly.
/// </summary>
public sealed class TaskLoopTests : FileTest
{
    private sealed record PointBatch(float[] X, float[] Y, int Index, int Count) : IBatch
    {
        public int Size => 1;
    }

    /// <summary>y = 3 x0 - 2 x1 + 1 plus noise, learnt by a linear layer.</summary>
    private sealed class RegressionTask(int batches = 8, int batchSize = 16) : ITrainingTask<PointBatch>
    {
        public string Description => "a line through generated points";
        public string PrimaryMetric => "fit";
        public string ModelConfigJson => "{\"kind\": \"linear regression\"}";
        public int BatchesPerEpoch => batches;
        public int BatchSize => batchSize;
        public int Initialized { get; private set; }

        public nn.Module CreateModel() => nn.Linear(2, 1);

        public void Initialize(nn.Module model, Action<string> log)
        {
            Initialized++;
            WeightInitFor(model);
            log("regression weights drawn");
        }

        private static void WeightInitFor(nn.Module model)
        {
            using var noGrad = no_grad();
            foreach (var p in model.parameters()) p.fill_(0.1);
        }

        public double LearningRateScale(string parameterName) => 1;

        private static PointBatch Points(int seed, int index, int count)
        {
            var rng = new Random(seed);
            var x = new float[2 * count];
            var y = new float[count];
            for (int i = 0; i < count; i++)
            {
                x[2 * i] = (float)rng.NextDouble() * 2 - 1;
                x[2 * i + 1] = (float)rng.NextDouble() * 2 - 1;
                y[i] = 3 * x[2 * i] - 2 * x[2 * i + 1] + 1 + (float)(rng.NextDouble() - 0.5) * 0.01f;
            }
            return new PointBatch(x, y, index, count);
        }

        public IEnumerable<PointBatch> Epoch(int epoch, int startBatch, Func<int, (int Size, double Strength)> settings, CancellationToken cancel)
        {
            for (int b = startBatch; b < batches && !cancel.IsCancellationRequested; b++) yield return Points(1000 * epoch + b, b, batchSize);
        }

        private static Tensor Mse(nn.Module model, PointBatch batch, ScalarType dtype)
        {
            var x = tensor(batch.X, [batch.Count, 2]).to(dtype);
            var y = tensor(batch.Y, [batch.Count, 1]).to(dtype);
            return ((nn.Module<Tensor, Tensor>)model).call(x).sub(y).square().mean().to(float32);
        }

        public Tensor Loss(nn.Module model, PointBatch batch, ScalarType dtype, long seed, MetricSums train)
        {
            var loss = Mse(model, batch, dtype);
            train.Add("within_0.1", ((nn.Module<Tensor, Tensor>)model).call(tensor(batch.X, [batch.Count, 2]))
                .sub(tensor(batch.Y, [batch.Count, 1])).abs().lt(0.1).sum().item<long>(), batch.Count);
            return loss;
        }

        public MetricSet Evaluate(nn.Module model)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            double mse = Mse(model, Points(-1, 0, 256), float32).item<float>();
            return new MetricSet(("loss", mse), ("fit", 1 / (1 + mse)));
        }

        public void SaveWeights(nn.Module model, string path) => MobileOneCheckpoint.Save(model, path);
    }

    private static TrainOptions Recipe => new()
    {
        Epochs = 10, BatchSize = 16, Lr = 0.05, WarmupEpochs = 0.5, EmaDecay = 0.9, WeightDecay = 0, WeightDecayEnd = 0, CheckpointEvery = 0, Seed = 3,
    };

    [Fact]
    public void AFakeTaskTrainsThroughTheSharedRecipe()
    {
        var task = new RegressionTask();
        var recorder = new RecordingObserver();
        var run = new RunFolder(Dir.File("regression"));
        var result = Trainer.Run(task, Recipe, run, resume: false, recorder);

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(80, result.Steps);
        Assert.Equal(1, task.Initialized);
        Assert.Contains("regression weights drawn", recorder.Messages);
        var first = result.History[0];
        var last = result.History[^1];
        Assert.True(last.ValLoss < 0.01 && last.ValLoss < first.ValLoss / 10, $"validation MSE {first.ValLoss:G3} -> {last.ValLoss:G3}");
        Assert.True(last.Train["within_0.1"] > 0.5, $"train within 0.1: {last.Train["within_0.1"]:P0}");
        Assert.NotNull(last.EmaVal);
        Assert.Equal(result.History.Max(m => Math.Max(m.Val["fit"], m.EmaVal!["fit"])), result.BestScore);

        // The run folder is the recipe's: config, the task's model description, metrics with the task's names, plots, weights.
        Assert.Equal(task.ModelConfigJson, File.ReadAllText(run.File(MobileOneCheckpoint.SidecarConfigName)));
        var lines = File.ReadAllLines(run.File("metrics.jsonl"));
        Assert.Equal(10, lines.Length);
        Assert.Contains("\"val_fit\":", lines[0]);
        Assert.Contains("\"ema_val_fit\":", lines[0]);
        Assert.Contains("\"train_within_0.1\":", lines[0]);
        Assert.Equal(result.History.Select(m => m.Val["fit"]), run.ReadMetrics().Select(m => m.Val["fit"]));
        foreach (var f in new[] { "last.pth.tar", "best.pth.tar", "ema.pth.tar", "state.safetensors", "loss.png", "fit.png" })
            Assert.True(File.Exists(run.File(f)), $"{f} missing");
        Assert.Equal(["weight", "bias"], CheckpointFile.Read(run.File("last.pth.tar")).Keys);
    }

    [Fact]
    public void AFakeTaskResumesExactly()
    {
        var straight = Trainer.Run(new RegressionTask(), Recipe, new RunFolder(Dir.File("straight")), resume: false, new RecordingObserver());

        using var cancel = new CancellationTokenSource();
        var brokenRun = new RunFolder(Dir.File("broken"));
        var first = Trainer.Run(new RegressionTask(), Recipe, brokenRun, resume: false, new RecordingObserver(cancelAtStep: 37, cancel), cancel.Token);
        Assert.Equal(TrainingOutcome.Interrupted, first.Outcome);
        var resumedTask = new RegressionTask();
        var second = Trainer.Run(resumedTask, Trainer.Reconcile(null, brokenRun, resume: true), brokenRun, resume: true, new RecordingObserver());
        Assert.Equal(0, resumedTask.Initialized);
        Assert.Equal(straight.Steps, second.Steps);
        Assert.Equal(straight.History.Select(m => m.Val["loss"]), second.History.Select(m => m.Val["loss"]));
        var a = CheckpointFile.Read(Path.Combine(straight.RunDirectory, "last.pth.tar"));
        var b = CheckpointFile.Read(brokenRun.File("last.pth.tar"));
        foreach (var key in a.Keys)
        {
            using var x = a[key].ToTorch();
            using var y = b[key].ToTorch();
            Assert.True(x.equal(y).all().item<bool>(), $"{key} differs after resuming");
        }
    }
}
