namespace MobileOne.Tests;

/// <summary>
/// torchvision's own <c>ssdlite320_mobilenet_v3_large</c> (Debian's python3-torchvision) run once per test class:
/// its weights, an input, its head outputs, anchors and detections (tests/MobileOne.Tests/python/ssdlite_reference.py).
/// </summary>
public sealed class SsdLiteReference : IDisposable
{
    private readonly TempDir dir = new();
    private readonly Lazy<string?> error;

    public SsdLiteReference()
    {
        error = new(() =>
        {
            if (PythonReference.Run("-c", "import torchvision").ExitCode != 0) return "torchvision";
            var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "ssdlite_reference.py");
            var (code, _, stderr) = PythonReference.Run(script, dir.Path);
            return code == 0 ? null : stderr;
        });
    }

    /// <summary>The file NAME of the reference folder.</summary>
    public string File(string name)
    {
        PythonReference.Require();
        if (error.Value == "torchvision")
        {
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
                throw new InvalidOperationException("python3-torchvision is missing in CI; .ci/run installs it");
            Skip.If(true, "Debian's python3-torchvision is not installed (apt-get install python3-torchvision)");
        }
        Assert.True(error.Value is null, $"ssdlite_reference.py failed: {error.Value}");
        return Path.Combine(dir.Path, name);
    }

    public void Dispose() => dir.Dispose();
}
