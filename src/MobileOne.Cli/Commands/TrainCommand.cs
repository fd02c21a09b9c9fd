using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using MobileOne.Classification;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone train</c>: the paper's recipe, with resumable, observable runs.</summary>
internal static class TrainCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("train", "Train a MobileOne with the paper's recipe; writes metrics, plots and atomic, resumable checkpoints into --out.");
        var data = new Option<string>("--data")
        {
            Description = "fashion-mnist; a folder of MNIST-format IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, " +
                          "t10k-labels-idx1-ubyte, each optionally .gz: MNIST, KMNIST, EMNIST, Fashion-MNIST); or a folder with train/CLASS/*.jpg and val/CLASS/*.jpg (ImageFolder).",
        };
        var model = new ModelOptions(command);
        var outDir = new Option<string>("--out") { Description = "Run folder (config, metrics.jsonl, plots, checkpoints).", DefaultValueFactory = _ => "runs/train" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder exactly where its last checkpoint left it." };
        var epochs = new Option<int>("--epochs") { Description = "Epochs (paper: 300).", DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch") { Description = "Batch size (paper: 256).", DefaultValueFactory = _ => 256 };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 0.1 x batch / 256)." };
        var warmup = new Option<double>("--warmup-epochs") { Description = "Linear warm-up epochs.", DefaultValueFactory = _ => 5 };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum." };
        var wd = new Option<double>("--weight-decay") { Description = "Weight decay at the start (cosine-annealed).", DefaultValueFactory = _ => 1e-4 };
        var wdEnd = new Option<double>("--weight-decay-end") { Description = "Weight decay at the end.", DefaultValueFactory = _ => 1e-5 };
        var decayAll = new Option<bool>("--decay-norm-and-bias") { Description = "Apply weight decay to BatchNorm weights and biases too." };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing.", DefaultValueFactory = _ => 0.1 };
        var emaDecay = new Option<double>("--ema-decay") { Description = "EMA decay of the weights (0 disables).", DefaultValueFactory = _ => 0.9995 };
        var size = new Option<int?>("--image-size") { Description = "Final training and evaluation size (default 224 for an ImageFolder; the images' own size for IDX data, 28 for fashion-mnist)." };
        var resizeSchedule = new Option<string>("--resize-schedule") { Description = "Progressive resizing, SIZE:FRACTION,... (e.g. 160:0,192:0.33,224:0.66); augmentation strength rises alongside.", DefaultValueFactory = _ => "" };
        var augment = new Option<string>("--augment") { Description = "none, autoaugment (ImageNet policy) or randaugment.", DefaultValueFactory = _ => "none" };
        augment.AcceptOnlyFromAmong("none", "autoaugment", "randaugment");
        var magnitude = new Option<int>("--randaugment-magnitude") { Description = "RandAugment magnitude (of 10).", DefaultValueFactory = _ => 9 };
        var cropScale = new Option<double?>("--crop-scale") { Description = "RandomResizedCrop's smallest area fraction (default 0.08; 0.8 for IDX data)." };
        var noFlip = new Option<bool>("--no-flip") { Description = "Disable horizontal flips (always off for IDX data other than Fashion-MNIST: mirrored digits and letters are other symbols)." };
        var erasing = new Option<double>("--random-erasing") { Description = "Probability of erasing a random rectangle of each training image (0 = off).", DefaultValueFactory = _ => 0 };
        var channels = new Option<int?>("--channels") { Description = "Input channels: 3, or 1 for grayscale data as one channel (default: 3 for an ImageFolder, 1 for IDX data)." };
        var bf16 = new Option<bool>("--bf16") { Description = "Train in bfloat16 with float32 master weights." };
        var threads = new Option<int>("--threads") { Description = "LibTorch threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var workers = new Option<int>("--workers") { Description = "Threads preparing batches.", DefaultValueFactory = _ => 2 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, order and augmentation.", DefaultValueFactory = _ => 0 };
        var every = new Option<int>("--checkpoint-every") { Description = "Also checkpoint every N steps (0: epoch ends only).", DefaultValueFactory = _ => 500 };
        var trainSubset = new Option<int>("--train-subset") { Description = "Use at most N training images (class-balanced).", DefaultValueFactory = _ => 0 };
        var valSubset = new Option<int>("--val-subset") { Description = "Use at most N validation images.", DefaultValueFactory = _ => 0 };
        var maxSteps = new Option<int>("--max-steps") { Description = "Stop (resumably) after N steps in total.", DefaultValueFactory = _ => 0 };
        var budget = new Option<double>("--time-budget") { Description = "Stop (resumably) after this many seconds of training.", DefaultValueFactory = _ => 0 };
        foreach (var o in new Option[] { data, outDir, resume, epochs, batch, lr, warmup, nesterov, wd, wdEnd, decayAll, smoothing, emaDecay, size, resizeSchedule,
                     augment, magnitude, cropScale, noFlip, erasing, channels, bf16, threads, workers, seed, every, trainSubset, valSubset, maxSteps, budget })
            command.Add(o);
        CliValidation.AtLeast(epochs, 1);
        CliValidation.AtLeast(batch, 1);
        CliValidation.AtLeast(threads, 0);
        CliValidation.AtLeast(workers, 1);
        command.Validators.Add(r =>
        {
            if (r.GetResult(resume) is null && r.GetResult(data) is null) r.AddError("--data is required (or --resume RUN)");
        });
        command.SetAction(parsed =>
        {
            TrainOptions? options;
            string runDir;
            bool resuming = parsed.GetValue(resume) is not null;
            if (parsed.GetValue(resume) is { } resumeDir)
            {
                runDir = resumeDir;
                // Only what leaves the result unchanged can be set again when resuming.
                options = new TrainOptions
                {
                    MaxSteps = parsed.GetValue(maxSteps), TimeBudgetSeconds = parsed.GetValue(budget), Threads = parsed.GetValue(threads),
                    Workers = parsed.GetValue(workers), CheckpointEvery = parsed.GetValue(every),
                };
            }
            else
            {
                runDir = parsed.GetValue(outDir)!;
                // The data set decides the defaults (size, normalisation, channels, model); options given override them.
                var preset = TrainOptions.ForData(parsed.GetValue(data)!, parsed.GetValue(channels));
                var config = model.Resolve(parsed) is { } chosen ? chosen.WithInput(preset.Channels, chosen.Strides) : MobileOneConfig.FromJson(preset.Model);
                options = preset with
                {
                    Epochs = parsed.GetValue(epochs),
                    BatchSize = parsed.GetValue(batch),
                    Lr = parsed.GetValue(lr),
                    WarmupEpochs = parsed.GetValue(warmup),
                    Nesterov = parsed.GetValue(nesterov),
                    WeightDecay = parsed.GetValue(wd),
                    WeightDecayEnd = parsed.GetValue(wdEnd),
                    DecayNormAndBias = parsed.GetValue(decayAll),
                    LabelSmoothing = parsed.GetValue(smoothing),
                    EmaDecay = parsed.GetValue(emaDecay),
                    ImageSize = parsed.GetValue(size) ?? preset.ImageSize,
                    ResizeSchedule = parsed.GetValue(resizeSchedule)!,
                    Augment = parsed.GetValue(augment) switch { "autoaugment" => AugmentPolicy.AutoAugment, "randaugment" => AugmentPolicy.RandAugment, _ => AugmentPolicy.None },
                    RandAugmentMagnitude = parsed.GetValue(magnitude),
                    CropScaleMin = parsed.GetValue(cropScale) ?? preset.CropScaleMin,
                    HorizontalFlip = preset.HorizontalFlip && !parsed.GetValue(noFlip),
                    RandomErasing = parsed.GetValue(erasing),
                    Bf16 = parsed.GetValue(bf16),
                    Threads = parsed.GetValue(threads),
                    Workers = parsed.GetValue(workers),
                    Seed = parsed.GetValue(seed),
                    CheckpointEvery = parsed.GetValue(every),
                    TrainSubset = parsed.GetValue(trainSubset),
                    ValSubset = parsed.GetValue(valSubset),
                    MaxSteps = parsed.GetValue(maxSteps),
                    TimeBudgetSeconds = parsed.GetValue(budget),
                    Model = config.ToJson(),
                };
            }
            var result = RunWithSignals(options, runDir, resuming, console);
            return result.Outcome == TrainingOutcome.Interrupted ? 130 : 0;
        });
        return command;
    }

    /// <summary>Runs the trainer with Ctrl-C and SIGTERM turned into a clean, resumable stop.</summary>
    internal static TrainingResult RunWithSignals(TrainOptions? options, string runDir, bool resume, CliConsole console)
    {
        using var cancel = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!cancel.IsCancellationRequested) console.Error.WriteLine($"\n{context.Signal}: stopping after this step and saving a resumable checkpoint (again to force)...");
            else Environment.Exit(130);
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        var observer = new ConsoleTrainingObserver(console, interactive: ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected);
        var result = ClassificationTask.Train(options, runDir, resume, observer, cancel.Token);
        if (result.Outcome == TrainingOutcome.Interrupted)
            console.Out.WriteLine($"interrupted at step {result.Steps:N0}; continue with: ./mobileone train --resume {runDir}");
        if (result.History.Count > 0)
            console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "best validation top-1 {0:P2}; weights in {1} (last.pth.tar, best.pth.tar{2})",
                result.BestScore, result.RunDirectory, result.History[^1].EmaVal is null ? "" : ", ema.pth.tar"));
        return result;
    }
}
