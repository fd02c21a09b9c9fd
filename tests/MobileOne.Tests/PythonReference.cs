using System.Diagnostics;
using System.Text.Json;

namespace MobileOne.Tests;

/// <summary>Runs Debian's python3 with PyTorch (package python3-torch, installed by CI).</summary>
public static class PythonReference
{
    private const string Python = "/usr/bin/python3";

    private static readonly Lazy<bool> HasTorch = new(() => Run("-c", "import torch, numpy, onnx").ExitCode == 0);

    public static void Require()
    {
        if (File.Exists(Python) && HasTorch.Value) return;
        if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
            throw new InvalidOperationException("python3-torch or python3-onnx is missing in CI; .ci/run installs them");
        Skip.If(true, "Debian's python3-torch and python3-onnx are not installed (apt-get install python3-torch python3-onnx)");
    }

    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>What PyTorch (or numpy, for safetensors) reads from a checkpoint: key -> (shape, dtype, sum).</summary>
    public static List<(string Key, long[] Shape, string DType, double Sum)> Inspect(string path)
    {
        var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "inspect_checkpoint.py");
        var (code, output, error) = Run(script, path);
        Assert.True(code == 0, $"python could not read {path}: {error}");
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.EnumerateObject().Select(p => (
            p.Name,
            p.Value[0].EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            p.Value[1].GetString()!,
            p.Value[2].GetDouble())).ToList();
    }
}
