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
    /// here: help shows <see cref="TrainOptions"/>' own or the task's recipe's, and a flag not given leaves the field as the preset has it.
    /// </summary>
    internal interface IFlag
    {
        Option Option { get; }

        TrainOptions Apply(ParseResult parsed, TrainOptions options);

        /// <summary>Help shows <paramref name="preset"/>'s value of the field as the default (a task's preset, not the generic one).</summary>
        IFlag ShowingDefaultOf(TrainOptions preset);
    }

    internal sealed class Flag<T> : IFlag
    {
        private readonly Option<T> option;
        private readonly Func<TrainOptions, T, TrainOptions> set;
        private readonly Func<TrainOptions, T>? field;

        public Flag(Option<T> option, Func<TrainOptions, T, TrainOptions> set, Func<TrainOptions, T>? field)
        {
            this.option = option;
            this.set = set;
            this.field = field;
            ShowingDefaultOf(Defaults);
        }

        public Option Option => option;

        public TrainOptions Apply(ParseResult parsed, TrainOptions options) =>
            parsed.GetResult(option) is { Implicit: false } ? set(options, parsed.GetValue(option)!) : options;

        public IFlag ShowingDefaultOf(TrainOptions preset)
        {
            // A field the preset leaves unset (a learning rate that follows the batch) shows no default.
            if (field is not null && field(preset) is not null) option.DefaultValueFactory = _ => field(preset);
            return this;
        }
    }

    private static readonly TrainOptions Defaults = new();

    private static Flag<T> F<T>(string name, string description, Func<TrainOptions, T, TrainOptions> set, Func<TrainOptions, T>? shownDefault = null) =>
        new(new Option<T>(name) { Description = description }, set, shownDefault);

    /// <summary>The recipe's flags, each bound to its field.</summary>
    // Flags of classification's data pipeline and head, which a detector's and a segmenter's do not have (their input scaling is their network's).
    private static readonly HashSet<string> ClassificationOnly =
    [
        "--label-smoothing", "--resize-schedule", "--augment", "--randaugment-magnitude", "--crop-scale", "--no-flip", "--random-erasing",
        "--eval-crop", "--train-subset", "--val-subset", "--dropout", "--mean", "--std",
    ];

    // Flags of a detector's data pipeline.
    private static readonly HashSet<string> DetectionOnly = ["--box-augment"];

    // Flags of a segmenter's data pipeline.
    private static readonly HashSet<string> SegmentationOnly = ["--segment-augment"];

    /// <summary>The tasks whose training verbs take the recipe's flags.</summary>
    internal enum RecipeTask { Classify, Detect, Segment }

    /// <summary>
    /// The recipe's flags for <paramref name="task"/>: each task's data pipeline has flags of its own. Help shows the
    /// defaults of <paramref name="preset"/>, the task's recipe (the generic options when null).
    /// </summary>
    internal static IFlag[] RecipeFlags(RecipeTask task = RecipeTask.Classify, TrainOptions? preset = null) =>
        AllRecipeFlags().Where(f => !(task != RecipeTask.Classify && ClassificationOnly.Contains(f.Option.Name))
                                    && !(task != RecipeTask.Detect && DetectionOnly.Contains(f.Option.Name))
                                    && !(task != RecipeTask.Segment && SegmentationOnly.Contains(f.Option.Name)))
            .Select(f => f.ShowingDefaultOf(preset ?? Defaults)).ToArray();

    private static IFlag[] AllRecipeFlags() =>
    [
        F("--epochs", "Epochs (paper: 300).", (o, v) => o with { Epochs = v }, o => o.Epochs),
        F("--batch", "Batch size (paper: 256).", (o, v) => o with { BatchSize = v }, o => o.BatchSize),
        F<double?>("--lr", "Peak learning rate (when no default is shown: 0.1 x batch / 256).", (o, v) => o with { Lr = v }, o => o.Lr),
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
        BranchInit(),
        F("--dropout", "Dropout before the classifier.", (o, v) => o with { Dropout = v }, o => o.Dropout),
        BoxAugment(),
        SegmentAugment(),
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

    private static Flag<string> BranchInit()
    {
        var flag = F<string>("--branch-init", "How a MobileOne trained from scratch starts its branches' BatchNorm scales: ones (PyTorch's default, as Apple trains) " +
                                              "or identity (blocks with a skip branch start as ReLU(BN(x))).",
            (o, v) => o with { BranchInit = v }, o => o.BranchInit);
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Models.BranchInit.Names]);
        return flag;
    }

    private static Flag<string> BoxAugment()
    {
        var flag = F<string>("--box-augment", "Detection augmentation: ssd (photometric distortion, zoom-out, IoU crop, flip), ssdlite (IoU crop, flip) or flip.",
            (o, v) => o with { BoxAugment = v }, o => o.BoxAugment);
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Detection.DetectionAugmentation.Presets.Keys]);
        return flag;
    }

    private static Flag<string> SegmentAugment()
    {
        var flag = F<string>("--segment-augment", "Segmentation augmentation: reference (torchvision's: random resize 0.5-2, flip, padded random crop) or flip (flip and crop only).",
            (o, v) => o with { SegmentAugment = v }, o => o.SegmentAugment);
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Segmentation.SegmentationAugmentation.Presets.Keys]);
        return flag;
    }

    private static Flag<string> Augment()
    {
        var flag = F<string>("--augment", "Augmentation policy.", (o, v) => o with { Augment = Enum.Parse<AugmentPolicy>(v, ignoreCase: true) },
            o => o.Augment.ToString().ToLowerInvariant());
        ((Option<string>)flag.Option).AcceptOnlyFromAmong([.. Enum.GetNames<AugmentPolicy>().Select(n => n.ToLowerInvariant())]);
        return flag;
    }

    /// <summary>Trains a task's model (new, or resumed from <paramref name="runDir"/>), observed, cancellable.</summary>
    internal delegate TrainingResult TaskTrainer(TrainOptions? options, string runDir, bool resume, ITrainingObserver observer, CancellationToken cancel);

    /// <summary>
    /// Makes <paramref name="command"/> a task's train verb: <paramref name="data"/> and <paramref name="fixedOptions"/> (which
    /// shape the model or its data), <c>--out</c>, <c>--resume</c>, and the recipe and run flags. A new run starts from
    /// <paramref name="preset"/> with the flags given applied; a resumed one keeps its configuration and takes the run flags
    /// only. <paramref name="verb"/> (e.g. <c>detect train</c>) is how the resume hint names the command; <paramref name="metric"/>
    /// the best score in the closing line.
    /// </summary>
    internal static void AddTaskTraining(Command command, Option<string> data, IReadOnlyList<Option> fixedOptions, string defaultOut, RecipeTask task,
        TrainOptions recipeDefaults, Func<ParseResult, TrainOptions> preset, TaskTrainer train, string verb, string metric, CliConsole console)
    {
        var outDir = new Option<string>("--out") { Description = "Run folder.", DefaultValueFactory = _ => defaultOut };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder exactly where its last checkpoint left it." };
        var recipe = RecipeFlags(task, recipeDefaults);
        var run = RunFlags();
        foreach (var o in new Option[] { data }.Concat(fixedOptions).Append(outDir).Append(resume).Concat(recipe.Concat(run).Select(f => f.Option))) command.Add(o);
        command.Validators.Add(r =>
        {
            if (r.GetResult(resume) is null && r.GetResult(data) is null) r.AddError("--data is required (or --resume RUN)");
            if (r.GetResult(resume) is not null)
                foreach (var o in fixedOptions.Prepend(data).Concat(recipe.Select(f => f.Option)))
                    if (r.GetResult(o) is { Implicit: false }) r.AddError($"{o.Name} cannot change when resuming: the run keeps its own configuration");
        });
        command.SetAction(parsed =>
        {
            string? resumeDir = parsed.GetValue(resume);
            string runDir = resumeDir ?? parsed.GetValue(outDir)!;
            TrainOptions options = resumeDir is not null
                ? run.Aggregate(new TrainOptions(), (o, f) => f.Apply(parsed, o))
                : recipe.Concat(run).Aggregate(preset(parsed), (o, f) => f.Apply(parsed, o));
            var result = RunWithSignals((observer, cancel) => train(options, runDir, resumeDir is not null, observer, cancel),
                $"./mobileone {verb} --resume {runDir}", console);
            if (result.History.Count > 0)
                console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "best validation {0} {1:F4}; weights in {2} (last.pth.tar, best.pth.tar{3})",
                    metric, result.BestScore, result.RunDirectory, result.History[^1].EmaVal is null ? "" : ", ema.pth.tar"));
            return result.Outcome == TrainingOutcome.Interrupted ? 130 : 0;
        });
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
