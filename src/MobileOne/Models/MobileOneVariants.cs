namespace MobileOne.Models;

/// <summary>
/// The named MobileOne variants S0-S4 (paper, Table 7; Apple's <c>PARAMS</c>): width multipliers,
/// k = 4 over-parameterised branches for S0 and Squeeze-Excite for S4.
/// </summary>
public static class MobileOneVariants
{
    private static readonly int[] Blocks = [2, 8, 10, 1];

    /// <summary>Variant names in order.</summary>
    public static readonly IReadOnlyList<string> Names = ["s0", "s1", "s2", "s3", "s4"];

    /// <summary>MobileOne-S0: widths (0.75, 1, 1, 2), k = 4.</summary>
    public static MobileOneConfig S0(int numClasses = 1000) => new(Blocks, [0.75, 1.0, 1.0, 2.0], false, 4, numClasses);

    /// <summary>MobileOne-S1: widths (1.5, 1.5, 2, 2.5).</summary>
    public static MobileOneConfig S1(int numClasses = 1000) => new(Blocks, [1.5, 1.5, 2.0, 2.5], false, 1, numClasses);

    /// <summary>MobileOne-S2: widths (1.5, 2, 2.5, 4).</summary>
    public static MobileOneConfig S2(int numClasses = 1000) => new(Blocks, [1.5, 2.0, 2.5, 4.0], false, 1, numClasses);

    /// <summary>MobileOne-S3: widths (2, 2.5, 3, 4).</summary>
    public static MobileOneConfig S3(int numClasses = 1000) => new(Blocks, [2.0, 2.5, 3.0, 4.0], false, 1, numClasses);

    /// <summary>MobileOne-S4: widths (3, 3.5, 3.5, 4), Squeeze-Excite in the last blocks.</summary>
    public static MobileOneConfig S4(int numClasses = 1000) => new(Blocks, [3.0, 3.5, 3.5, 4.0], true, 1, numClasses);

    /// <summary>The configuration of a named variant ("s0".."s4", case-insensitive).</summary>
    public static MobileOneConfig Get(string name, int numClasses = 1000) => name.Trim().ToLowerInvariant() switch
    {
        "s0" or "mobileone_s0" => S0(numClasses),
        "s1" or "mobileone_s1" => S1(numClasses),
        "s2" or "mobileone_s2" => S2(numClasses),
        "s3" or "mobileone_s3" => S3(numClasses),
        "s4" or "mobileone_s4" => S4(numClasses),
        _ => throw new MobileOneException($"unknown variant '{name}'; expected one of: {string.Join(", ", Names)}"),
    };

    /// <summary>
    /// The name of the variant whose backbone this configuration has (any class count), or null.
    /// With <paramref name="ignoreBranches"/>, k is not compared (a fused checkpoint does not record it).
    /// </summary>
    public static string? NameOf(MobileOneConfig config, bool ignoreBranches = false) =>
        Names.FirstOrDefault(n => Get(n).SameBackbone(config, ignoreBranches));
}
