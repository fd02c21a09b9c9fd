using System.CommandLine;
using MobileOne.Benchmarks;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Serving;
using TorchSharp;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone bench</c>: latency with the paper's protocol, for one model, several alternately, or S0-S4.</summary>
internal static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("bench", "Measure latency: load, pre-allocate the input, warm up, then time full round trips (min, median, p90, mean).");
        var model = new ModelOptions(command);
        var checkpoint = SharedOptions.OptionalCheckpoint("Benchmark this checkpoint's model (default: random weights of --variant, s0 if none).");
        var onnx = new Option<FileInfo[]>("--onnx")
        {
            Description = "Benchmark ONNX image classifiers, segmenters or detectors (a detector at its own input size); repeat to measure several alternately in one run.", AllowMultipleArgumentsPerToken = false,
        };
        var engine = new Option<string>("--engine") { Description = "onnx (ONNX Runtime; a model is exported in memory) or torch (TorchSharp eager).", DefaultValueFactory = _ => "onnx" };
        engine.AcceptOnlyFromAmong("onnx", "torch");
        var fused = new Option<bool>("--fused") { Description = "Benchmark the reparameterised model (the default)." };
        var unfused = new Option<bool>("--unfused") { Description = "Benchmark the train-time multi-branch model." };
        var threads = SharedOptions.Threads("Intra-op threads.", 1, minimum: 1);
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 1 };
        var size = new InputSizeOption("Input size: N or HxW (default 224; a checkpoint's training run's size; an ONNX graph with a fixed size runs at its own).");
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first.", DefaultValueFactory = _ => 20 };
        var runs = new Option<int>("--runs") { Description = "Timed runs (default 200; 50 with --compare).", };
        var compare = new Option<bool>("--compare") { Description = "S0-S4, fused and unfused, ONNX Runtime and TorchSharp, side by side; on ONNX Runtime also the fused model quantised to int8." };
        var peak = new Option<bool>("--peak") { Description = "Also measure the SGEMM GFLOP/s ceiling on the same threads and how close each model gets." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var train = new Option<bool>("--train") { Description = "Measure training throughput instead: forward, backward and an SGD step of the train-time model on random data." };
        var bf16 = new Option<bool>("--bf16") { Description = "With --train: bfloat16 weights and activations (float32 master weights)." };
        var branches = new Option<string>("--branches")
        {
            Description = "With --train: stacked (the k conv branches of a block as one convolution, the default), separate (one convolution per branch, as the reference code runs them), or both, measured alternately.",
            DefaultValueFactory = _ => "stacked",
        };
        branches.AcceptOnlyFromAmong([.. TrainingThroughput.BranchModes]);
        var detectors = new Option<bool>("--detectors")
        {
            Description = "SSDLite on MobileOne-S0 against SSDLite on MobileNetV3-Large at 320x320 on ONNX Runtime, random weights, each with NMS in the graph and without, measured alternately.",
        };
        var segmenters = new Option<bool>("--segmenters")
        {
            Description = "DeepLabV3 on MobileOne-S0 against DeepLabV3 on MobileNetV3-Large at 512x512 on ONNX Runtime (21 classes, output stride 16, random weights), measured alternately.",
        };
        var nmsBoxes = new Option<string>("--nms-boxes")
        {
            Description = "With --detectors: raise the background of the random detectors until about N (box, class) pairs reach non-maximum suppression, as a trained detector's " +
                          "confident boxes would; 'all' keeps the random scores, which pass the threshold nearly everywhere.",
            DefaultValueFactory = _ => "1000",
        };
        var profile = new Option<bool>("--profile")
        {
            Description = "With --onnx: after the timing, run each graph again under ONNX Runtime's profiler and print where its time goes, per kind of node (stem, depthwise, pointwise convolutions, each other operator) and the slowest nodes.",
        };
        var serve = new ServeLoadOptions();
        foreach (var o in new Option[] { checkpoint, onnx, engine, fused, unfused, threads, batch, size.Option, warmup, runs, compare, peak, json, train, bf16, branches, detectors, segmenters, nmsBoxes, profile }) command.Add(o);
        serve.AddTo(command, onnx);
        CliValidation.AtLeast(batch, 1);
        CliValidation.AtLeast(warmup, 0);
        CliValidation.AtLeast(runs, 1);
        command.Validators.Add(r =>
        {
            if (r.GetResult(fused) is not null && r.GetResult(unfused) is not null) r.AddError("give --fused or --unfused, not both");
            int sources = (r.GetResult(checkpoint) is not null ? 1 : 0) + (r.GetResult(onnx) is not null ? 1 : 0)
                          + (r.GetResult(model.Variant) is { Implicit: false } || r.GetResult(model.Config) is not null ? 1 : 0);
            if (sources > 1) r.AddError("give one of --variant/--config, --checkpoint or --onnx");
            if (r.GetResult(onnx) is not null && r.GetValue(engine) == "torch") r.AddError("--onnx runs with --engine onnx");
            if (r.GetResult(compare) is not null && (r.GetResult(checkpoint) is not null || r.GetResult(onnx) is not null))
                r.AddError("--compare measures S0-S4 itself; it takes no --checkpoint or --onnx");
            if (r.GetResult(detectors) is not null && (sources > 0 || r.GetResult(compare) is not null || r.GetResult(train) is not null || r.GetResult(size.Option) is { Implicit: false }))
                r.AddError("--detectors measures the two detectors itself, at their 320x320; it takes no --variant, --config, --checkpoint, --onnx, --compare, --train or --input-size");
            if (r.GetResult(segmenters) is not null && (sources > 0 || r.GetResult(compare) is not null || r.GetResult(train) is not null || r.GetResult(detectors) is not null
                                                        || r.GetResult(size.Option) is { Implicit: false }))
                r.AddError("--segmenters measures the two segmenters itself, at 512x512; it takes no --variant, --config, --checkpoint, --onnx, --compare, --train, --detectors or --input-size");
            if (r.GetResult(nmsBoxes) is { Implicit: false } && r.GetResult(detectors) is null) r.AddError("--nms-boxes goes with --detectors");
            if (r.GetResult(profile) is not null && (r.GetResult(onnx) is null || r.GetResult(serve.Serve) is not null)) r.AddError("--profile goes with --onnx (and not --serve)");
            if (r.GetResult(profile) is not null && r.GetResult(json) is not null) r.AddError("--profile prints tables; it does not go with --json");
            if (r.GetValue(nmsBoxes) is { } n && n != "all" && !(long.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
                r.AddError($"--nms-boxes: expected a count (0 or more) or 'all', found '{n}'");
        });
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(serve.Serve))
            {
                var report = serve.Run(parsed, parsed.GetValue(onnx)![0].FullName, parsed.GetValue(threads), console.Error.WriteLine);
                Print(console, parsed.GetValue(json), report.ToJson, report.TextLines);
                return 0;
            }
            var (h, wd) = size.Get(parsed);
            // A trained model is measured at the size its run trained for; an ONNX graph at its own fixed size.
            if (size.IsImplicit(parsed) && parsed.GetValue(checkpoint) is { } trained)
                h = wd = DeploySettings.ForCheckpoint(trained.FullName).Preprocessing.Size;
            var settings = new BenchSettings(parsed.GetValue(threads), parsed.GetValue(batch), h, wd, parsed.GetValue(warmup), 0);
            torch.set_num_threads(settings.Threads);
            if (parsed.GetValue(peak))
            {
                settings = settings with { GemmGflops = GemmPeak.Measure() };
                console.Error.WriteLine($"SGEMM ceiling on {settings.Threads} thread(s): {settings.GemmGflops:F1} GFLOP/s");
            }
            int? runsGiven = parsed.GetValue(runs) is int r && r > 0 ? r : null;
            if (parsed.GetValue(train))
            {
                var report = TrainingThroughput.Run(model.Resolve(parsed) ?? MobileOneVariants.S0(),
                    settings with { Warmup = parsed.GetResult(warmup) is { Implicit: false } ? settings.Warmup : 2, Runs = runsGiven ?? 5 },
                    parsed.GetValue(bf16), parsed.GetValue(branches)!, console.Error.WriteLine);
                Print(console, parsed.GetValue(json), report.ToJson, report.TextLines);
                return 0;
            }
            if (parsed.GetValue(detectors))
            {
                string boxes = parsed.GetValue(nmsBoxes)!;
                var report = DetectorComparison.Run(settings with { Runs = runsGiven ?? 200 },
                    boxes == "all" ? null : long.Parse(boxes, System.Globalization.CultureInfo.InvariantCulture), console.Error.WriteLine);
                Print(console, parsed.GetValue(json), report.ToJson, report.TextLines);
                return 0;
            }
            if (parsed.GetValue(segmenters))
            {
                var report = SegmenterComparison.Run(settings with { Runs = runsGiven ?? 50 }, console.Error.WriteLine);
                Print(console, parsed.GetValue(json), report.ToJson, report.TextLines);
                return 0;
            }
            if (parsed.GetValue(compare))
            {
                string[] engines = parsed.GetResult(engine) is { Implicit: false } ? [parsed.GetValue(engine)!] : ["onnx", "torch"];
                bool asJson = parsed.GetValue(json);
                var result = VariantComparison.Run(settings with { Runs = runsGiven ?? 50 }, engines, console.Error.WriteLine, asJson ? null : console.Out.WriteLine);
                if (asJson) console.Out.WriteLine(result);
                return 0;
            }
            var source = new BenchSource(parsed.GetValue(onnx)?.Select(f => f.FullName).ToList() ?? [], parsed.GetValue(checkpoint)?.FullName,
                model.Resolve(parsed), Fused: !parsed.GetValue(unfused), parsed.GetValue(engine)!);
            var latency = ModelBenchmark.Run(source, settings with { Runs = runsGiven ?? 200 }, console.Error.WriteLine);
            Print(console, parsed.GetValue(json), latency.ToJson, latency.TextLines);
            if (parsed.GetValue(profile))
                foreach (var file in source.OnnxFiles)
                    foreach (var line in OnnxProfile.Measure(file, settings with { Runs = runsGiven ?? 200 }).TextLines()) console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }

    private static void Print(CliConsole console, bool json, Func<string> toJson, Func<IEnumerable<string>> textLines)
    {
        if (json) console.Out.WriteLine(toJson());
        else foreach (var line in textLines()) console.Out.WriteLine(line);
    }

    /// <summary><c>bench --serve</c>: a load test of <c>serve</c> on loopback, with its own options.</summary>
    private sealed class ServeLoadOptions
    {
        public Option<bool> Serve { get; } = new("--serve") { Description = "Load-test the inference server instead: start it on the --onnx model on a free loopback port, one client alone, then --clients for --seconds posting --image; throughput, p50/p99, errors, memory." };

        private readonly Option<FileInfo?> image = new("--image") { Description = "With --serve: the image every request posts." };
        private readonly Option<int> clients = new("--clients") { Description = "With --serve: concurrent clients.", DefaultValueFactory = _ => LoadTestSettings.Default.Clients };
        private readonly Option<int> seconds = new("--seconds") { Description = "With --serve: how long the clients send.", DefaultValueFactory = _ => (int)LoadTestSettings.Default.Duration.TotalSeconds };
        private readonly Option<int> baseline = new("--baseline-seconds") { Description = "With --serve: how long one client sends alone first (0: no baseline).", DefaultValueFactory = _ => (int)LoadTestSettings.Default.Baseline.TotalSeconds };

        public void AddTo(Command command, Option<FileInfo[]> onnx)
        {
            foreach (var o in new Option[] { Serve, image, clients, seconds, baseline }) command.Add(o);
            CliValidation.AtLeast(clients, 1);
            CliValidation.AtLeast(seconds, 1);
            CliValidation.AtLeast(baseline, 0);
            command.Validators.Add(r =>
            {
                bool serving = r.GetResult(Serve) is not null;
                if (serving && (r.GetValue(onnx) is not { Length: 1 } || r.GetResult(image) is null)) r.AddError("--serve needs one --onnx model and an --image to post");
                if (!serving && new Option[] { image, clients, seconds, baseline }.Any(o => r.GetResult(o) is { Implicit: false })) r.AddError("--image, --clients, --seconds and --baseline-seconds go with --serve");
            });
        }

        public LoadTestReport Run(ParseResult parsed, string onnx, int threads, Action<string> log)
        {
            var settings = new LoadTestSettings(parsed.GetValue(clients), TimeSpan.FromSeconds(parsed.GetValue(seconds)), TimeSpan.FromSeconds(parsed.GetValue(baseline)));
            var file = parsed.GetValue(image)!.FullName;
            if (!File.Exists(file)) throw new MobileOneException($"image not found: {file}");
            var options = new ServeOptions { OnnxPath = onnx, Threads = threads };
            return ServerLoadTest.RunAsync(options, File.ReadAllBytes(file), settings, log).GetAwaiter().GetResult();
        }
    }
}
