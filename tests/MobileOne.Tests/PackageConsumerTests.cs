using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MobileOne.Tests;

/// <summary>
/// The NuGet package as a stranger uses it: packed from this build, added to a new console project with the
/// README's commands, the README's example built and run. It must classify as the CLI does. Offline: the
/// consumer's only source is the pack folder, and the machine's package caches serve the dependencies.
/// </summary>
public sealed partial class PackageConsumerTests : FileTest
{
    [GeneratedRegex(@"## Use it from your project.*?```bash\n(.*?)```.*?```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex UsageSection();

    [SkippableFact]
    public void FreshConsoleProjectClassifiesAsTheCli()
    {
        Fixtures.Require();
        var usage = ReadmeExampleTests.ReadmeMatch(UsageSection(), "```bash and ```csharp blocks under '## Use it from your project'");
        var commands = usage.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(commands, c => Assert.StartsWith("dotnet add package ", c));

        var feed = Directory.CreateDirectory(Dir.File("feed")).FullName;
        Dotnet(Fixtures.RepoRoot, "pack", Path.Combine(Fixtures.RepoRoot, "src", "MobileOne"), "--no-build", "-c", BuildConfiguration, "-o", feed);
        var consumer = CreateConsumer(feed);
        foreach (var command in commands)
        {
            var args = command["dotnet ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Dotnet(consumer, [.. args, .. args[2] == "MobileOne" ? ["--source", feed] : Array.Empty<string>()]);
        }
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), usage.Groups[2].Value);
        // Warnings as errors: the package's own (a missing LibTorch runtime) among them.
        Dotnet(consumer, "build", "--disable-build-servers", "-warnaserror", "-v", "q", "-o", Path.Combine(consumer, "out"));

        // The README's paths are relative to the repository root.
        var printed = Dotnet(Fixtures.RepoRoot, Path.Combine(consumer, "out", "Consumer.dll"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line[..line.LastIndexOf(": ", StringComparison.Ordinal)]);
        Assert.Equal(CliTopFive(), printed);
    }

    /// <summary>The classes <c>predict</c> prints for the README's checkpoint and image.</summary>
    private static string[] CliTopFive()
    {
        var (code, output, error) = CliTests.Run("predict", "--checkpoint", Fixtures.MobileOne("mobileone_s0.pth.tar"),
            Path.Combine(Fixtures.Root, "images", "chelsea.png"), "--topk", "5", "--json");
        Assert.True(code == 0, error);
        var predictions = JsonDocument.Parse(output).RootElement.GetProperty("images")[0].GetProperty("predictions");
        return [.. predictions.EnumerateArray().Select(p => p.GetProperty("label").GetString()!)];
    }

    /// <summary>
    /// A new console project whose NuGet configuration has the pack folder as its only source. The machine's
    /// package caches are fallback folders, used in place: nothing is downloaded and the user's cache is not
    /// written to (a stale MobileOne of the same version there would hide this build's package).
    /// </summary>
    private string CreateConsumer(string feed)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var caches = new[] { Environment.GetEnvironmentVariable("NUGET_PACKAGES"), Path.Combine(home, ".nuget", "packages"), "/opt/nuget/packages" }
            .OfType<string>().Where(Directory.Exists).Distinct();
        File.WriteAllText(Dir.File("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Dir.File("packages")}" /></config>
              <packageSources><clear /><add key="pack" value="{feed}" /></packageSources>
              <fallbackPackageFolders><clear />{string.Concat(caches.Select((c, i) => $"<add key=\"cache{i}\" value=\"{c}\" />"))}</fallbackPackageFolders>
            </configuration>
            """);
        Dotnet(Dir.Path, "new", "console", "-o", "Consumer", "--no-restore");
        return Dir.File("Consumer");
    }

    /// <summary>The configuration this test assembly was built in, which the library's build shares.</summary>
    private static string BuildConfiguration =>
        typeof(PackageConsumerTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    /// <summary>Runs <c>dotnet</c> in a folder; returns its output, or fails the test with it.</summary>
    private static string Dotnet(string folder, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test host inherits the outer build's MSBuild settings; the consumer's build must find its own.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        start.Environment.Remove("NUGET_PACKAGES"); // it would override the consumer's own packages folder
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', args)} ran for more than 5 minutes and was killed");
        }
        var output = stdout.Result + stderr.Result;
        Assert.True(p.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited with {p.ExitCode}:\n{output}");
        return output;
    }
}
