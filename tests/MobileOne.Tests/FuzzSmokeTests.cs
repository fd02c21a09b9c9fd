using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace MobileOne.Tests;

/// <summary>
/// A short seeded run of the fuzz harness (tests/MobileOne.Fuzz) over every loader: a few thousand mutated
/// files, each loaded in a worker process under a time limit and a memory cap. Any outcome but a clean
/// refusal or a clean load fails the test, with the campaign's summary (failures, mutations, reproducers).
/// </summary>
public sealed class FuzzSmokeTests : FileTest
{
    private const int Inputs = 7000;
    private const int Seed = 20261130;

    /// <summary>The driver's assembly, as the build recorded it (the fuzz project is built before this one).</summary>
    private static string DriverAssembly() =>
        typeof(FuzzSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FuzzDriver").Value
        ?? throw new InvalidOperationException("the build did not record the fuzz driver's path");

    [Fact]
    [Trait("Category", "Slow")]
    public void SeededCampaignOverEveryLoaderEndsWithoutFailure()
    {
        var driver = DriverAssembly();
        Assert.True(File.Exists(driver), $"fuzz driver not built: {driver}");
        // The run stops starting inputs after 75 s so that a library with hangs and crashes still fails in bounded time.
        var (code, output) = RunDriver(driver, "--inputs", $"{Inputs}", "--seed", $"{Seed}", "--out", Dir.Path, "--timeout-ms", "15000", "--max-seconds", "75");
        var summaryPath = Path.Combine(Dir.Path, "summary.json");
        Assert.True(File.Exists(summaryPath), $"the driver wrote no summary (exit code {code}):\n{output}");
        using var summary = JsonDocument.Parse(File.ReadAllText(summaryPath));
        var report = File.ReadAllText(Path.Combine(Dir.Path, "summary.md"));
        int failures = 0;
        foreach (var loader in summary.RootElement.GetProperty("loaders").EnumerateArray())
        {
            var outcomes = loader.GetProperty("outcomes");
            failures += new[] { "other-exception", "hang", "crash", "memory" }.Sum(o => outcomes.GetProperty(o).GetInt32());
        }
        Assert.True(failures == 0 && code == 0, $"{failures} fuzz input(s) failed (exit code {code}); reproducers are lost with the temporary folder, " +
                                                $"rerun with: dotnet run -c Release --project tests/MobileOne.Fuzz -- --inputs {Inputs} --seed {Seed} --out runs/fuzz-smoke\n\n{report}");
        Assert.True(summary.RootElement.GetProperty("seed_check").GetArrayLength() == 0, $"seed files were not accepted:\n{report}");
        Assert.True(summary.RootElement.GetProperty("generator_errors").GetArrayLength() == 0, $"the harness failed to make some inputs:\n{report}");
        Assert.True(summary.RootElement.GetProperty("inputs").GetInt32() >= Inputs / 2, $"the run was cut short:\n{report}");
    }

    private static (int Code, string Output) RunDriver(string driver, params string[] args)
    {
        // The app host beside the assembly when there is one, else the dotnet host running the tests.
        var host = Path.ChangeExtension(driver, null);
        var start = File.Exists(host) ? new ProcessStartInfo(host) : new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { ArgumentList = { driver } };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "the driver ran for more than 5 minutes and was killed");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
