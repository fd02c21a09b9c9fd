namespace MobileOne.Fuzz.Mutation;

/// <summary>One fuzz input: the file's bytes and how they were made.</summary>
/// <param name="Data">The file content.</param>
/// <param name="Extension">File extension including the dot (<c>.pth</c>, <c>.idx.gz</c>); loaders may look at it.</param>
/// <param name="Strategy">Short name of the mutation strategy, used to group results.</param>
/// <param name="Detail">What exactly was changed, for the reproducer's note.</param>
public sealed record Mutant(byte[] Data, string Extension, string Strategy, string Detail)
{
    /// <summary>The <see cref="ExpectedRefusal"/> that any <see cref="MobileOneException"/> satisfies.</summary>
    public const string AnyRefusal = "MobileOne.MobileOneException";

    /// <summary>
    /// What a correct loader must do with this input: null when loading it may succeed; <see cref="AnyRefusal"/>
    /// when it must be refused (a tensor view outside its storage, dimensions the data cannot fill); or the
    /// exception type it must be refused with (the unsafe-pickle exception for a pickle naming <c>os.system</c>).
    /// </summary>
    public string? ExpectedRefusal { get; init; }
}

/// <summary>A named way of turning a seed into a mutant, with its relative frequency.</summary>
/// <param name="Name">Strategy name (reported).</param>
/// <param name="Weight">Relative frequency among the target's strategies.</param>
/// <param name="Apply">Builds a mutant from the random source.</param>
public sealed record Strategy(string Name, double Weight, Func<Random, Mutant> Apply);

/// <summary>Weighted choice among strategies and other small random helpers.</summary>
public static class RandomExtensions
{
    /// <summary>One element of a non-empty list, uniformly.</summary>
    public static T Pick<T>(this Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    /// <summary>One strategy, with probability proportional to its weight.</summary>
    public static Strategy PickWeighted(this Random rng, IReadOnlyList<Strategy> strategies)
    {
        double total = strategies.Sum(s => s.Weight), x = rng.NextDouble() * total;
        foreach (var s in strategies)
        {
            x -= s.Weight;
            if (x < 0) return s;
        }
        return strategies[^1];
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public static bool Chance(this Random rng, double p) => rng.NextDouble() < p;

    /// <summary>A deterministic random source for input <paramref name="index"/> of a campaign seeded with <paramref name="seed"/>.</summary>
    public static Random ForInput(long seed, long index)
    {
        // SplitMix64 of (seed, index): neighbouring inputs get unrelated streams, and any input can be
        // regenerated alone from its index.
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return new Random(unchecked((int)z ^ (int)(z >> 32)));
    }
}
