using System.Text.Json;

namespace MobileOne.Tests;

/// <summary>
/// Locates <c>../shared/fixtures</c> relative to the repository root (the folder holding the solution).
/// Tests that need it call <see cref="Require"/>, which skips only when the folder is absent and never
/// under CI (the environment variable CI is set), where its absence is a failure.
/// </summary>
public static class Fixtures
{
    /// <summary>Skips the test when Debian's Fashion-MNIST is not installed; in CI, where .ci/run installs it, fails instead.</summary>
    public static void RequireFashionMnist()
    {
        if (global::MobileOne.Data.FashionMnist.IsInstalled()) return;
        if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 }) throw new InvalidOperationException("dataset-fashion-mnist missing in CI; .ci/run installs it");
        Skip.If(true, "dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)");
    }

    public static readonly string RepoRoot = FindRepoRoot();

    public static readonly string Root = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));

    public static string MobileOne(string name) => Path.Combine(Root, "mobileone", name);

    public static bool Available => Directory.Exists(Root);

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MobileOne.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (MobileOne.slnx) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Skips the calling test when the fixtures are absent outside CI.</summary>
    public static void Require()
    {
        if (Available) return;
        if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
            throw new InvalidOperationException($"fixtures folder {Root} is missing in CI");
        Skip.If(true, $"fixtures folder {Root} is absent");
    }

    public static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(MobileOne(name))).RootElement;
}
