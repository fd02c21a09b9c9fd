using System.Globalization;
using MobileOne.Fuzz.Targets;

namespace MobileOne.Fuzz.Driver;

/// <summary>The driver's command line.</summary>
public sealed record FuzzOptions
{
    /// <summary>Loaders to fuzz (all when none is named).</summary>
    public IReadOnlyList<string> Loaders { get; init; } = FuzzTarget.All.Select(t => t.Name).ToArray();

    /// <summary>Number of inputs in all, shared evenly among the loaders.</summary>
    public int Inputs { get; init; } = 7000;

    /// <summary>Campaign seed: the same seed and input count give the same inputs.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Time limit per input, in milliseconds.</summary>
    public int TimeoutMs { get; init; } = 10_000;

    /// <summary>Resident memory cap per input, in MiB.</summary>
    public int MemoryMb { get; init; } = 2048;

    /// <summary>Output folder (summary files and reproducers).</summary>
    public string Out { get; init; } = Path.Combine("runs", "fuzz");

    /// <summary>Worker processes run in parallel.</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 2);

    /// <summary>Stop starting new inputs after this many seconds (0: no limit); the summary says so when it cut the run short.</summary>
    public int MaxSeconds { get; init; }

    /// <summary>Reproducers kept per distinct failure (all are counted).</summary>
    public int ReprosPerFailure { get; init; } = 5;

    /// <summary>Files to replay instead of fuzzing (with <see cref="Loaders"/> naming their loader).</summary>
    public IReadOnlyList<string> Replay { get; init; } = [];

    /// <summary>The usage text.</summary>
    public const string Usage =
        """
        usage: MobileOne.Fuzz [--loader NAME ...] [--inputs N] [--seed S] [--timeout-ms T] [--memory-mb M] [--out DIR]
                              [--workers W] [--repros-per-failure K] [--max-seconds S]
               MobileOne.Fuzz replay --loader NAME FILE...
               MobileOne.Fuzz worker
        loaders: pth, safetensors, npy, idx, image, onnx, config
        """;

    /// <summary>Parses the driver's arguments; throws <see cref="ArgumentException"/> with the reason.</summary>
    public static FuzzOptions Parse(IReadOnlyList<string> args)
    {
        var o = new FuzzOptions();
        var loaders = new List<string>();
        var replay = new List<string>();
        bool replaying = args.Count > 0 && args[0] == "replay";
        for (int i = replaying ? 1 : 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a positive whole number");
            switch (args[i])
            {
                case "--loader": loaders.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--inputs": o = o with { Inputs = Int() }; break;
                case "--seed": o = o with { Seed = long.TryParse(Value(), CultureInfo.InvariantCulture, out var s) ? s : throw new ArgumentException("--seed needs an integer") }; break;
                case "--timeout-ms": o = o with { TimeoutMs = Int() }; break;
                case "--memory-mb": o = o with { MemoryMb = Int() }; break;
                case "--out": o = o with { Out = Value() }; break;
                case "--workers": o = o with { Workers = Int() }; break;
                case "--repros-per-failure": o = o with { ReprosPerFailure = Int() }; break;
                case "--max-seconds": o = o with { MaxSeconds = Int() }; break;
                case var a when replaying && !a.StartsWith("--", StringComparison.Ordinal): replay.Add(a); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        foreach (var name in loaders) FuzzTarget.Get(name);
        if (replaying && (replay.Count == 0 || loaders.Count != 1)) throw new ArgumentException("replay needs one --loader and at least one file");
        return o with { Loaders = loaders.Count > 0 ? loaders.Distinct().ToArray() : o.Loaders, Replay = replay };
    }
}
