using System.CommandLine;

namespace MobileOne.Cli.Commands;

/// <summary>Range checks on option values, reported as usage errors (exit code 2).</summary>
internal static class CliValidation
{
    public static void AtLeast(Option<int> option, int minimum) =>
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < minimum) r.AddError($"{option.Name} must be at least {minimum}, found {r.GetValueOrDefault<int>()}");
        });

    public static void AtLeast(Option<int?> option, int minimum) =>
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is int v && v < minimum) r.AddError($"{option.Name} must be at least {minimum}, found {v}");
        });
}
