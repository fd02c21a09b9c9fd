using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MobileOne.Tests;

/// <summary>The README's library example compiles against the library and runs.</summary>
public sealed partial class ReadmeExampleTests : FileTest
{
    [GeneratedRegex(@"## Library.*?```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex LibraryExample();

    [SkippableFact]
    public void LibraryExampleCompilesAndRuns()
    {
        Fixtures.Require();
        var source = "using System;\n" + ReadmeMatch(LibraryExample(), "a ```csharp block under '## Library'").Groups[1].Value;

        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(new[] { typeof(Models.MobileOneModel), typeof(TorchSharp.torch), typeof(Microsoft.ML.OnnxRuntime.InferenceSession) }.Select(t => t.Assembly.Location))
            .Distinct()
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("ReadmeExample",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var assembly = new MemoryStream();
        var result = compilation.Emit(assembly);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToList();
        Assert.True(result.Success && problems.Count == 0, "README example does not compile cleanly:\n" + string.Join("\n", problems));

        File.Copy(Path.Combine(Fixtures.Root, "images", "chelsea.png"), Dir.File("cat.png"));
        var previous = Environment.CurrentDirectory;
        var output = new StringWriter();
        var stdout = Console.Out;
        lock (ConsoleLock)
        {
            try
            {
                Environment.CurrentDirectory = Dir.Path;
                Console.SetOut(output);
                var entry = Assembly.Load(assembly.ToArray()).EntryPoint!;
                entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            }
            finally
            {
                Console.SetOut(stdout);
                Environment.CurrentDirectory = previous;
            }
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length); // three top-k lines and one label
        Assert.All(lines[..3], l => Assert.Matches(@"^.+: \d+(\.\d)? ?%$", l.Trim()));
        Assert.True(File.Exists(Dir.File("mobileone_s0.onnx")));
    }

    /// <summary>The README's text that <paramref name="pattern"/> matches; fails the test, naming <paramref name="what"/>, when none does.</summary>
    internal static Match ReadmeMatch(Regex pattern, string what)
    {
        var match = pattern.Match(File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "README.md")));
        Assert.True(match.Success, "README.md has no " + what);
        return match;
    }

    /// <summary>Tests that redirect the process-wide console take this lock.</summary>
    public static readonly object ConsoleLock = new();
}
