// The fuzz harness of issue 11: every loader is fed mutated files in child processes, under a time
// limit and a memory cap, and every outcome other than a clean refusal or a clean load is counted and
// saved as a reproducer.
//
// The long run (105,000 inputs, 15,000 per loader; its figures belong in docs/robustness.md):
//
//   dotnet run -c Release --project tests/MobileOne.Fuzz -- --inputs 105000 --seed 11 --out runs/fuzz-long
//
// Measured on 2 cores: 142 inputs/s with the loader fixes of issue 11 (the run takes 12 minutes); about 35
// inputs/s before them (50 minutes), when inputs that hang or blow up cost seconds each and a worker restart.
//
// A short run of one loader, and the replay of saved reproducers:
//
//   dotnet run -c Release --project tests/MobileOne.Fuzz -- --loader npy --inputs 2000 --out runs/fuzz-npy
//   dotnet run -c Release --project tests/MobileOne.Fuzz -- replay --loader pth runs/fuzz-long/repro/pth/crash-001.pth
//
// Results: DIR/summary.md and DIR/summary.json, reproducers in DIR/repro/LOADER/OUTCOME-NNN.EXT, each with
// a .txt note. Exit code 0 when no input ended in another exception, a hang, a crash or a memory blow-up.

using MobileOne.Fuzz.Driver;
using MobileOne.Fuzz.Worker;

namespace MobileOne.Fuzz;

/// <summary>Entry point: the driver, the replay of saved inputs, or (as a child process) the worker.</summary>
public static class Program
{
    /// <summary>Dispatches on the first argument.</summary>
    public static int Main(string[] args)
    {
        // The worker must take over stdout before anything else touches the console.
        if (args.Length == 1 && args[0] == "worker") return WorkerMain.Run();
        FuzzOptions options;
        try { options = FuzzOptions.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"fuzz: {e.Message}");
            Console.Error.WriteLine(FuzzOptions.Usage);
            return 2;
        }
        return options.Replay.Count > 0 ? Replay.Run(options) : new Campaign(options).Run();
    }
}
