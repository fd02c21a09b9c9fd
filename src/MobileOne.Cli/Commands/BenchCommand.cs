using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileOne.Benchmarks;
using MobileOne.Checkpoints;
using MobileOne.Export;
using MobileOne.Inference;
using MobileOne.Models;
using MobileOne.Reparameterization;
using TorchSharp;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone bench</c>: latency with the paper's protocol, for one model, several alternately, or S0-S4.</summary>
internal static class BenchCommand
{
    private sealed record Target(string Name, IInferenceEngine Engine, MobileOneConfig? Config);

    public static Command Create(CliConsole console)
    {
        var command = new Command("bench", "Measure latency: load, pre-allocate the input, warm up, then time full round trips (min, median, p90, mean).");
        var model = new ModelOptions(command);
        var checkpoint = new Option<FileInfo?>("--checkpoint") { Description = "Benchmark this checkpoint's model (default: random weights of --variant, s0 if none)." };
        var onnx = new Option<FileInfo[]>("--onnx") { Description = "Benchmark ONNX image classifiers; repeat to measure several alternately in one run.", AllowMultipleArgumentsPerToken = false };
        var engine = new Option<string>("--engine") { Description = "onnx (ONNX Runtime; a model is exported in memory) or torch (TorchSharp eager).", DefaultValueFactory = _ => "onnx" };
        engine.AcceptOnlyFromAmong("onnx", "torch");
        var fused = new Option<bool>("--fused") { Description = "Benchmark the reparameterised model (the default)." };
        var unfused = new Option<bool>("--unfused") { Description = "Benchmark the train-time multi-branch model." };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 1 };
        var size = new Option<string>("--input-size") { Description = "Input size: N or HxW.", DefaultValueFactory = _ => "224" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs first.", DefaultValueFactory = _ => 20 };
        var runs = new Option<int>("--runs") { Description = "Timed runs (default 200; 50 with --compare).", };
        var compare = new Option<bool>("--compare") { Description = "S0-S4, fused and unfused, ONNX Runtime and TorchSharp, side by side." };
        var peak = new Option<bool>("--peak") { Description = "Also measure the SGEMM GFLOP/s ceiling on the same threads and how close each model gets." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var train = new Option<bool>("--train") { Description = "Measure training throughput instead: forward, backward and an SGD step of the train-time model on random data." };
        var bf16 = new Option<bool>("--bf16") { Description = "With --train: bfloat16 weights and activations (float32 master weights)." };
        var branches = new Option<string>("--branches")
        {
            Description = "With --train: stacked (the k conv branches of a block as one convolution, the default), separate (one convolution per branch, as the reference code runs them), or both, measured alternately.",
            DefaultValueFactory = _ => "stacked",
        };
        branches.AcceptOnlyFromAmong("stacked", "separate", "both");
        foreach (var o in new Option[] { checkpoint, onnx, engine, fused, unfused, threads, batch, size, warmup, runs, compare, peak, json, train, bf16, branches }) command.Add(o);
        CliValidation.AtLeast(threads, 1);
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
        });
        command.SetAction(parsed =>
        {
            int t = parsed.GetValue(threads), b = parsed.GetValue(batch), w = parsed.GetValue(warmup);
            var (h, wd) = InputSize.Parse(parsed.GetValue(size)!);
            torch.set_num_threads(t);
            double? gflops = parsed.GetValue(peak) ? GemmPeak.Measure() : null;
            if (gflops is double g) console.Error.WriteLine($"SGEMM ceiling on {t} thread(s): {g:F1} GFLOP/s");
            if (parsed.GetValue(train))
                return TrainThroughput(console, model.Resolve(parsed) ?? MobileOneVariants.S0(), b, h, wd, parsed.GetResult(warmup) is { Implicit: false } ? w : 2,
                    parsed.GetValue(runs) is int rt && rt > 0 ? rt : 5, parsed.GetValue(bf16), t, parsed.GetValue(branches)!, parsed.GetValue(json));
            if (parsed.GetValue(compare))
                return Compare(console, parsed.GetValue(runs) is int rc && rc > 0 ? rc : 50, w, t, b, h, wd, gflops, parsed.GetValue(json),
                    parsed.GetResult(engine) is { Implicit: false } ? [parsed.GetValue(engine)!] : ["onnx", "torch"]);

            var targets = new List<Target>();
            try
            {
                if (parsed.GetValue(onnx) is { Length: > 0 } files)
                    targets.AddRange(files.Select(f => new Target(f.Name, new OnnxEngine(f.FullName, t), null)));
                else
                {
                    MobileOneModel net;
                    string name;
                    if (parsed.GetValue(checkpoint) is { } ckpt)
                    {
                        var loaded = MobileOneCheckpoint.Load(ckpt.FullName, model.Resolve(parsed));
                        if (loaded.Fused && parsed.GetValue(unfused))
                            throw new MobileOneException($"{ckpt.FullName} is already fused; --unfused needs a train-time checkpoint");
                        net = loaded.Model;
                        name = ckpt.Name;
                    }
                    else
                    {
                        var config = model.Resolve(parsed) ?? MobileOneVariants.S0();
                        net = new MobileOneModel(config);
                        name = MobileOneVariants.NameOf(config)?.ToUpperInvariant() ?? "custom";
                    }
                    bool wantFused = !parsed.GetValue(unfused);
                    net.eval();
                    if (wantFused && !net.IsFused) net = Reparameterizer.Fuse(net);
                    targets.Add(Build($"{name} {(wantFused ? "fused" : "unfused")}", net, parsed.GetValue(engine)!, t, h, wd));
                }
                int n = parsed.GetValue(runs) is int r && r > 0 ? r : 200;
                var input = RandomInput(b, h, wd);
                console.Error.WriteLine($"measuring {string.Join(", ", targets.Select(x => x.Name))}: batch {b}, {h}x{wd}, {t} thread(s), {w} warm-up + {n} timed runs" +
                                        (targets.Count > 1 ? ", alternating in blocks of 10" : ""));
                var stats = LatencyBenchmark.MeasureInterleaved(targets.Select(x => x.Engine.Prepare(input, b, h, wd)).ToList(), w, n, b);
                Report(console, targets, stats, t, h, wd, gflops, parsed.GetValue(json));
                return 0;
            }
            finally
            {
                foreach (var x in targets) x.Engine.Dispose();
            }
        });
        return command;
    }

    private static int TrainThroughput(CliConsole console, MobileOneConfig config, int batch, int h, int w, int warmup, int runs, bool bf16,
        int threads, string branches, bool json)
    {
        var dtype = bf16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32;
        string[] modes = branches == "both" ? ["stacked", "separate"] : [branches];
        var nets = new List<MobileOneModel>();
        var sgds = new List<MobileOne.Training.Sgd>();
        using var x = torch.randn(batch, config.InChannels, h, w, generator: new torch.Generator(1)).to(dtype);
        using var y = torch.randint(config.NumClasses, [batch], generator: new torch.Generator(2));
        try
        {
            var steps = new List<Func<float[]>>();
            foreach (var mode in modes)
            {
                torch.manual_seed(0); // the same weights for every mode
                var net = new MobileOneModel(config);
                nets.Add(net);
                foreach (var (_, block) in net.Blocks()) block.StackBranches = mode == "stacked";
                if (bf16) net.to(dtype);
                net.train();
                var sgd = new MobileOne.Training.Sgd(net.named_parameters()) { LearningRate = 0.01, WeightDecay = 1e-4 };
                sgds.Add(sgd);
                steps.Add(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    var loss = MobileOne.Training.LabelSmoothing.CrossEntropy(net.forward(x), y, 0.1);
                    loss.backward();
                    sgd.Step();
                    sgd.ZeroGrad();
                    return [loss.item<float>()];
                });
            }
            var name = MobileOneVariants.NameOf(config)?.ToUpperInvariant() ?? "custom";
            var precision = bf16 ? "bf16" : "fp32";
            console.Error.WriteLine($"measuring training steps of {name} ({precision}, {string.Join(" and ", modes)} branches): batch {batch}, {h}x{w}, {threads} thread(s), " +
                                    $"{warmup} warm-up + {runs} timed steps" + (modes.Length > 1 ? ", alternating in blocks of 5" : ""));
            var stats = LatencyBenchmark.MeasureInterleaved(steps, warmup, runs, batch, blockSize: 5);
            double peak = ProcessMemory.PeakMiB();
            if (json)
            {
                var rows = modes.Select((mode, i) => new Dictionary<string, object>
                {
                    ["model"] = name, ["precision"] = precision, ["branches"] = mode, ["batch"] = batch, ["input_size"] = new[] { h, w }, ["threads"] = threads,
                    ["steps"] = runs, ["min_ms"] = stats[i].MinMs, ["median_ms"] = stats[i].MedianMs, ["p90_ms"] = stats[i].P90Ms, ["mean_ms"] = stats[i].MeanMs,
                    ["images_per_s"] = stats[i].Throughput, ["peak_rss_mib"] = peak,
                }).ToArray();
                // One object for one measurement (as before), an array when both paths ran.
                console.Out.WriteLine(rows.Length == 1 ? JsonSerializer.Serialize(rows[0]) : JsonSerializer.Serialize(rows));
            }
            else
            {
                for (int i = 0; i < modes.Length; i++)
                    console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} {1} training step, {2} branches, batch {3}, {4}x{5}: median {6:F0} ms (min {7:F0}), {8:F1} img/s",
                        name, precision, modes[i], batch, h, w, stats[i].MedianMs, stats[i].MinMs, stats[i].Throughput));
                if (modes.Length > 1)
                    console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "stacked / separate step time (medians): {0:F2}", stats[0].MedianMs / stats[1].MedianMs));
                console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "peak memory {0:F0} MiB", peak));
            }
            return 0;
        }
        finally
        {
            foreach (var sgd in sgds) sgd.Dispose();
            foreach (var net in nets) net.Dispose();
        }
    }

    private static float[] RandomInput(int b, int h, int w)
    {
        using var x = torch.randn(b, 3, h, w, generator: new torch.Generator(0));
        return x.data<float>().ToArray();
    }

    private static Target Build(string name, MobileOneModel net, string engine, int threads, int h, int w) => engine == "torch"
        ? new Target($"{name} (torch)", new TorchEngine(net, threads), net.Config)
        : new Target($"{name} (onnx)", new OnnxEngine(OnnxExporter.ToBytes(net, new OnnxExportOptions { InputHeight = h, InputWidth = w }), threads, name), net.Config);

    private static void Report(CliConsole console, List<Target> targets, IReadOnlyList<LatencyStats> stats, int threads, int h, int w, double? gflops, bool json)
    {
        var inv = CultureInfo.InvariantCulture;
        double peakMem = ProcessMemory.PeakMiB();
        object Row(Target t, LatencyStats s) => new Dictionary<string, object?>
        {
            ["model"] = t.Name, ["engine"] = t.Engine.Name, ["threads"] = threads, ["batch"] = s.Batch, ["input_size"] = new[] { h, w },
            ["runs"] = s.Runs, ["min_ms"] = s.MinMs, ["median_ms"] = s.MedianMs, ["p90_ms"] = s.P90Ms, ["mean_ms"] = s.MeanMs, ["std_ms"] = s.StdMs,
            ["throughput_per_s"] = s.Throughput, ["peak_rss_mib"] = peakMem,
            ["macs"] = t.Config is null ? null : ModelProfile.Compute(t.Config, h, w).MacsFused,
            ["fraction_of_sgemm_peak"] = Efficiency(t, s, h, w, gflops),
        };
        if (json)
        {
            object result = targets.Count == 1 ? Row(targets[0], stats[0]) : new Dictionary<string, object>
            {
                ["results"] = targets.Select((t, i) => Row(t, stats[i])).ToArray(),
                ["ratio_of_medians"] = stats.Select(s => s.MedianMs / stats[0].MedianMs).ToArray(),
            };
            if (gflops is double g && result is Dictionary<string, object?> d) d["sgemm_gflops"] = g;
            console.Out.WriteLine(JsonSerializer.Serialize(result));
            return;
        }
        console.Out.WriteLine(string.Format(inv, "{0,-36} {1,9} {2,9} {3,9} {4,9} {5,10}", "model", "min ms", "median", "p90", "mean", "img/s"));
        for (int i = 0; i < targets.Count; i++)
        {
            var s = stats[i];
            console.Out.WriteLine(string.Format(inv, "{0,-36} {1,9:F3} {2,9:F3} {3,9:F3} {4,9:F3} {5,10:F1}", targets[i].Name, s.MinMs, s.MedianMs, s.P90Ms, s.MeanMs, s.Throughput));
            if (Efficiency(targets[i], s, h, w, gflops) is double e)
                console.Out.WriteLine(string.Format(inv, "  {0:P1} of the {1:F1} GFLOP/s SGEMM ceiling ({2:F3} ms at that rate)", e, gflops, s.MedianMs * e));
        }
        for (int i = 1; i < targets.Count; i++)
            console.Out.WriteLine(string.Format(inv, "ratio of medians {0} / {1}: {2:F3}", targets[i].Name, targets[0].Name, stats[i].MedianMs / stats[0].MedianMs));
        console.Out.WriteLine(string.Format(inv, "peak resident memory of the process: {0:F0} MiB", peakMem));
    }

    private static double? Efficiency(Target t, LatencyStats s, int h, int w, double? gflops) =>
        gflops is double g && t.Config is not null
            ? 2.0 * ModelProfile.Compute(t.Config, h, w).MacsFused * s.Batch / (g * 1e9) / (s.MedianMs / 1000.0)
            : null;

    private static int Compare(CliConsole console, int runs, int warmup, int threads, int batch, int h, int w, double? gflops, bool json, string[] engines)
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = new List<Dictionary<string, object?>>();
        var input = RandomInput(batch, h, w);
        if (!json)
        {
            var header = string.Format(inv, "{0,-4} {1,12} {2,14}", "", "params", "MACs");
            foreach (var e in engines) header += string.Format(inv, " {0,14} {1,14} {2,8}", $"{e} fused", $"{e} unfused", "speed-up");
            console.Out.WriteLine($"median latency (ms), batch {batch}, {h}x{w}, {threads} thread(s), {runs} runs after {warmup} warm-up, targets alternating in blocks of 10 runs per variant");
            console.Out.WriteLine(header);
        }
        foreach (var name in MobileOneVariants.Names)
        {
            var config = MobileOneVariants.Get(name);
            using var unfusedNet = new MobileOneModel(config);
            unfusedNet.eval();
            using var fusedNet = Reparameterizer.Fuse(unfusedNet);
            var targets = new List<Target>();
            try
            {
                foreach (var e in engines)
                {
                    targets.Add(Build($"{name} fused", fusedNet, e, threads, h, w));
                    targets.Add(Build($"{name} unfused", unfusedNet, e, threads, h, w));
                }
                console.Error.WriteLine($"measuring {name.ToUpperInvariant()}...");
                var stats = LatencyBenchmark.MeasureInterleaved(targets.Select(x => x.Engine.Prepare(input, batch, h, w)).ToList(), warmup, runs, batch);
                var profile = ModelProfile.Compute(config, h, w);
                var row = new Dictionary<string, object?> { ["variant"] = name, ["params_fused"] = profile.ParamsFused, ["params_unfused"] = profile.ParamsUnfused, ["macs_fused"] = profile.MacsFused };
                var line = string.Format(inv, "{0,-4} {1,12:N0} {2,14:N0}", name.ToUpperInvariant(), profile.ParamsFused, profile.MacsFused);
                for (int i = 0; i < engines.Length; i++)
                {
                    var f = stats[2 * i];
                    var u = stats[2 * i + 1];
                    row[$"{engines[i]}_fused_median_ms"] = f.MedianMs;
                    row[$"{engines[i]}_fused_min_ms"] = f.MinMs;
                    row[$"{engines[i]}_unfused_median_ms"] = u.MedianMs;
                    row[$"{engines[i]}_unfused_min_ms"] = u.MinMs;
                    row[$"{engines[i]}_speedup"] = u.MedianMs / f.MedianMs;
                    line += string.Format(inv, " {0,14:F2} {1,14:F2} {2,7:F2}x", f.MedianMs, u.MedianMs, u.MedianMs / f.MedianMs);
                }
                if (gflops is double g) row["sgemm_gflops"] = g;
                rows.Add(row);
                if (!json) console.Out.WriteLine(line);
            }
            finally
            {
                // The torch engines share the two models, which the using statements dispose.
                foreach (var x in targets) if (x.Engine is OnnxEngine o) o.Dispose();
            }
        }
        if (json) console.Out.WriteLine(JsonSerializer.Serialize(new { threads, batch, input_size = new[] { h, w }, runs, warmup, rows }));
        return 0;
    }
}
