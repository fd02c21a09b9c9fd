using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using MobileOne.Data;
using MobileOne.Training;

namespace MobileOne.Cli.Commands;

/// <summary>
/// The training recipe's flags, shared by <c>train</c> and <c>detect train</c>: each bound to its
/// <see cref="TrainOptions"/> field, with the field's own default shown; and the run with Ctrl-C handling.
/// </summary>
internal static class TrainingFlags
{
    /// <summary>
    /// One flag of a <see cref="TrainOptions"/> field: how a given value sets it. Defaults are never restated
    /// here: help shows <see cref="TrainOptions"/>' own, and a flag not given leaves the field as the data set's preset has it.
    /// </summary>
    internal interface IFlag
    {
        Option Option { get; }

        TrainOptions Apply(ParseResult parsed, TrainOptions options);
    }

    internal sealed class Flag<T> : IFlag
    {
        private readonly Option<T> option;
        private readonly Func<TrainOptions, T, TrainOptions> set;

        public Flag(Option<T> option, Func<TrainOptions, T, TrainOptions> set, Func<TrainOptions, T>? shownDefault)
        {
            if (shownDefault is not null) option.DefaultValueFactory = _ => shownDefault(Defaults);
            this.option = option;
            this.set = set;
        }

        public Option Option => option;

        public TrainOptions Apply(ParseResult parsed, TrainOptions options) =>
            parsed.GetResult(option) is { Implicit: false } ? set(options, parsed.GetValue(option)!) : options;
    }

    private static readonly TrainOptions Defaults = new();

    private static Flag<T> F<T>(string name, string description, Func<TrainOptions, T, TrainOptions> set, Func<TrainOptions, T>? shownDefault = null) =>
        new(new Option<T>(name) { Description = description }, set, shownDefault);

    /// <summary>The recipe's flags, each bound to its field.</summary>
    // Flags of classification's data pipeline and head, which a detector's does not have (its input scaling is SSDLite's).
    private static readonly HashSet<string> ClassificationOnly =
    [
        "--label-smoothing", "--resize-schedule", "--augment", "--randaugment-magnitude", "--crop-scale", "--no-flip", "--random-erasing",
        "--eval-crop", "--train-subset", "--val-subset", "--dropout", "--mean", "--std",
    ];

    // Flags of a detector's data pipeline.
    private static readonly HashSet<string> DetectionOnly = ["--box-augment"];

    /// <summary>The recipe's flags for classification, or (without <paramref name="classification"/>) for detection.</summary>
    internal static IFlag[] RecipeFlags(bool classification = true) =>
        AllRecipeFlags().Where(f => !(classification ? DetectionOnly : ClassificationOnly).Contains(f.Option.Name)).ToArray();

    private static IFlag[] AllRecipeFlags() =>
    [
        F("--epochs", "Epochs (paper: 300).", (o, v) => o with { Epochs = v }, o => o.Epochs),
        F("--batch", "Batch size (paper: 256).", (o, v) => o with { BatchSize = v }, o => o.BatchSize),
        F<double?>("--lr", "Peak learning rate (default 0.1 x batch / 256).", (o, v) => o with { Lr = v }),
        F("--warmup-epochs", "Linear warm-up epochs (at most half the run).", (o, v) => o with { WarmupEpochs = v }, o => o.WarmupEpochs),
        F<bool>("--nesterov", "Nesterov momentum.", (o, v) => o with { Nesterov = v }),
        F("--weight-decay", "Weight decay at the start (cosine-annealed).", (o, v) => o with { WeightDecay = v }, o => o.WeightDecay),
        F("--weight-decay-end", "Weight decay at the end.", (o, v) => o with { WeightDecayEnd = v }, o => o.WeightDecayEnd),
        F<bool>("--decay-norm-and-bias", "Apply weight decay to BatchNorm weights and biases too.", (o, v) => o with { DecayNormAndBias = v }),
        F("--label-smoothing", "Label smoothing.", (o, v) => o with { LabelSmoothing = v }, o => o.LabelSmoothing),
        F("--ema-decay", "EMA decay of the weights (0 disables).", (o, v) => o with { EmaDecay = v }, o => o.EmaDecay),
        F<int?>("--image-size", "Final training and evaluation size (default 224 for an ImageFolder; the images' own size for IDX data, 28 for fashion-mnist).",
            (o, v) => o with { ImageSize = v ?? o.ImageSize }),
        F<string>("--resize-schedule", "Progressive resizing, SIZE:FRACTION,... (e.g. 160:0,192:0.33,224:0.66); augmentation strength rises alongside.",
            (o, v) => o with { ResizeSchedule = v }),
        Augment(),
        F("--randaugment-magnitude", "RandAugment magnitude (of 10).", (o, v) => o with { RandAugmentMagnitude = v }, o => o.RandAugmentMagnitude),
        F<double?>("--crop-scale", "RandomResizedCrop's smallest area fraction (default 0.08; 0.8 for IDX data).", (o, v) => o with { CropScaleMin = v ?? o.CropScaleMin }),
        F<bool>("--no-flip", "Disable horizontal flips (always off for IDX data other than Fashion-MNIST: mirrored digits and letters are other symbols).",
            (o, v) => o with { HorizontalFlip = o.HorizontalFlip && !v }),
        F("--random-erasing", "Probability of erasing a random rectangle of each training image (0 = off).", (o, v) => o with { RandomErasing = v }, o => o.RandomErasing),
        Triple("--mean", "Normalisation mean: one value, or three (R,G,B) separated by commas (default: the data set's, or the --init run's).",
            (o, v) => o with { Mean = v }),
        Triple("--std", "Normalisation standard deviation, as --mean.", (o, v) => o with { Std = v }),
        F<double?>("--eval-crop", "Fraction of the image the evaluation centre crop keeps (default 0.875; 1 for IDX data).", (o, v) => o with { EvalCropPct = v ?? o.EvalCropPct }),
        F<bool>("--bf16", "Train in bfloat16 with float32 master weights.", (o, v) => o with { Bf16 = v }),
        F("--seed", "Seed of initialisation, order and augmentation.", (o, v) => o with { Seed = v }, o => o.Seed),
        F("--train-subset", "Use at most N training images (class-balanced; 0 = all).", (o, v) => o with { TrainSubset = v }, o => o.TrainSubset),
        F("--val-subset", "Use at most N validation images (0 = all).", (o, v) => o with { ValSubset = v }, o => o.ValSubset),
        F("--freeze-stages", "Freeze the first N of the five stages (stem, stage1..stage4): weights and BatchNorm statistics; 5 trains the classifier alone.",
            (o, v) => o with { FreezeStages = v }, o => o.FreezeStages),
        F("--head-lr-mult", "Factor on the learning rate of the layers new to the task (the classifier; a detector's extra layers and heads), e.g. 10 on pretrained features.", (o, v) => o with { HeadLrMult = v }, o => o.HeadLrMult),
        F("--clip-grad-norm", "Clip the gradients' joint L2 norm to this before each update (0 = off).", (o, v) => o with { ClipGradNorm = v }, o => o.ClipGradNorm),
        F("--dropout", "Dropout before the classifier.", (o, v) => o with { Dropout = v }, o => o.Dropout),
        BoxAugment(),
    ];

    /// <summary>Flags that may be given again when resuming: they change when and how the run computes, not what.</summary>
    internal static IFlag[] RunFlags() =>
    [
        F("--threads", "LibTorch threads (0 = all cores).", (o, v) => o with { Threads = v }, o => o.Threads),
        F("--workers", "Threads preparing batches.", (o, v) => o with { Workers = v }, o => o.Workers),
        F("--checkpoint-every", "Also checkpoint every N steps (0: epoch ends only).", (o, v) => o with { CheckpointEvery = v }, o => o.CheckpointEvery),
        F("--max-steps", "Stop (resumably) after N steps in total (0 = no limit).", (o, v) => o with { MaxSteps = v }, o => o.MaxSteps),
        F("--time-budget", "Stop (resumably) after this many seconds of training (0 = no limit).", (o, v) => o with { TimeBudgetSeconds = v }, o => o.TimeBudgetSeconds),
    ];

    /// <summary>A flag of one value or three, comma-separated, for a per-channel setting.</summary>
    private static Flag<string> Triple(string name, string description, Func<TrainOptions, float[], TrainOptions> set)
    {
        var flag = F<string>(name, description, (o, v) => set(o, ParseTriple(v)));
        flag.Option.Validators.Add(r =>
        {
            try { ParseTriple(r.GetValueOrDefault<string>() ?? ""); }
            catch (FormatException e) { r.AddError($"{name}: {e.Message}"); }
        });
        return flag;
    }

    private static float[] ParseTriple(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = parts.Select(p => float.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v)
            ? v : throw new FormatException($"'{p}' is not a number")).ToArray();
        return values.Length switch
        {
            1 => [values[0], values[0], values[0]],
            3 => values,
            _ => throw new FormatException($"give one value or three, found {values.Length}"),
        };
    }

    private static Flag<string> BoxAugment()
    {
        var flag = F<string>("--box-augment", "Detection augmentation: ssd (photometric distortion, zoom-out, IoU crop, flip), ssdlite (IoU crop, flip) or flip.",
            (o, v) => o with { BoxAugment = v }, o => o.BoxAugment);
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Detection.DetectionAugmentation.Presets.Keys]);
        return flag;
    }

    private static Flag<string> Augment()
    {
        var flag = F<string>("--augment", "Augmentation policy.", (o, v) => o with { Augment = Enum.Parse<AugmentPolicy>(v, ignoreCase: true) },
            o => o.Augment.ToString().ToLowerInvariant());
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Enum.GetNames<AugmentPolicy>().Select(n => n.ToLowerInvariant())]);
        return flag;
    }

    /// <summary>
    /// Runs <paramref name="train"/> with Ctrl-C and SIGTERM turned into a clean, resumable stop, reporting to the console;
    /// <paramref name="resumeCommand"/> is what continues the run.
    /// </summary>
    internal static TrainingResult RunWithSignals(Func<ITrainingObserver, CancellationToken, TrainingResult> train, string resumeCommand, CliConsole console)
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
        var result = train(observer, cancel.Token);
        if (result.Outcome == TrainingOutcome.Interrupted)
            console.Out.WriteLine($"interrupted at step {result.Steps:N0}; continue with: {resumeCommand}");
        return result;
    }
}
