using MobileOne.Fuzz.Mutation;

namespace MobileOne.Fuzz.Targets;

/// <summary>What a target fuzzes with: its unmutated seed files (which a correct loader accepts) and its strategies.</summary>
/// <param name="Seeds">The seeds, as inputs of strategy <c>seed</c>.</param>
/// <param name="Strategies">The mutation strategies.</param>
public sealed record FuzzPlan(IReadOnlyList<Mutant> Seeds, IReadOnlyList<Strategy> Strategies);

/// <summary>
/// One loader under test. The worker calls <see cref="Run"/> on a file; the driver calls
/// <see cref="Prepare"/> once to build the seeds and get the mutation strategies.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name given to <c>--loader</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Loads the file as the CLI would, disposing whatever it built. Throws whatever the library throws.</summary>
    public abstract void Run(string path);

    /// <summary>Builds the seed files (in memory) and returns them with the ways of mutating them.</summary>
    public abstract FuzzPlan Prepare(SeedFactory seeds);

    /// <summary>Every loader, by name.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new CheckpointTarget(Checkpoints.CheckpointFormat.Pth),
        new CheckpointTarget(Checkpoints.CheckpointFormat.Safetensors),
        new NpyTarget(),
        new IdxTarget(),
        new ImageTarget(),
        new OnnxTarget(),
        new ConfigTarget(),
    ];

    /// <summary>The loader called <paramref name="name"/>.</summary>
    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"unknown loader '{name}'; expected one of {string.Join(", ", All.Select(t => t.Name))}");
}
