namespace MobileOne.Tests;

/// <summary>
/// Reference data that a script of <c>python/</c> makes once per test class with Debian's python3-torchvision,
/// in a temporary folder: the test skips without torchvision, except in CI, where .ci/run installs it.
/// </summary>
public abstract class TorchvisionScript : IDisposable
{
    private readonly TempDir dir = new();
    private readonly Lazy<string?> error;

    protected TorchvisionScript(string script, params string[] args)
    {
        error = new(() =>
        {
            if (PythonReference.Run("-c", "import torchvision").ExitCode != 0) return "torchvision";
            var path = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", script);
            var (code, _, stderr) = PythonReference.Run([path, dir.Path, .. args]);
            return code == 0 ? null : $"{script} failed: {stderr}";
        });
    }

    /// <summary>The folder the script wrote.</summary>
    protected string Output
    {
        get
        {
            PythonReference.Require();
            if (error.Value == "torchvision")
            {
                if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
                    throw new InvalidOperationException("python3-torchvision is missing in CI; .ci/run installs it");
                Skip.If(true, "Debian's python3-torchvision is not installed (apt-get install python3-torchvision)");
            }
            Assert.True(error.Value is null, error.Value);
            return dir.Path;
        }
    }

    public void Dispose()
    {
        dir.Dispose();
        GC.SuppressFinalize(this);
    }
}
