namespace MobileOne.Tests;

/// <summary>
/// torchvision's own definitions (Debian's python3-torchvision) run once per test class: for each
/// network its seeded weights, an input, its logits, its parameter count, MACs and state-dict keys.
/// </summary>
public sealed class TorchvisionReference : IDisposable
{
    public static readonly string[] Names =
        ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0", "mnasnet1_0", "resnet18"];

    private readonly TempDir dir = new();
    private readonly Lazy<string?> error;

    public TorchvisionReference()
    {
        error = new(() =>
        {
            if (PythonReference.Run("-c", "import torchvision").ExitCode != 0) return "torchvision";
            var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "torchvision_reference.py");
            var (code, _, stderr) = PythonReference.Run([script, dir.Path, .. Names]);
            return code == 0 ? null : stderr;
        });
    }

    /// <summary>The folder with NAME/{weights.pth, input.npy, logits.npy, info.json}.</summary>
    public string Folder(string name)
    {
        PythonReference.Require();
        if (error.Value == "torchvision")
        {
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
                throw new InvalidOperationException("python3-torchvision is missing in CI; .ci/run installs it");
            Skip.If(true, "Debian's python3-torchvision is not installed (apt-get install python3-torchvision)");
        }
        Assert.True(error.Value is null, $"torchvision_reference.py failed: {error.Value}");
        return Path.Combine(dir.Path, name);
    }

    public void Dispose() => dir.Dispose();
}
