using System.CommandLine;
using MobileOne.Models;

namespace MobileOne.Cli.Commands;

/// <summary>The <c>--variant</c> / <c>--config</c> pair shared by the verbs that build a model.</summary>
internal sealed class ModelOptions
{
    public Option<string?> Variant { get; } = new("--variant")
    {
        Description = "Named architecture: s0, s1, s2, s3 or s4.",
    };

    public Option<FileInfo?> Config { get; } = new("--config")
    {
        Description = "JSON file with a configuration object (num_blocks_per_stage, width_multipliers, use_se, num_conv_branches, num_classes) or {\"variant\": ..., \"num_classes\": ...}.",
    };

    public ModelOptions(Command command, string? defaultVariant = null)
    {
        Variant.AcceptOnlyFromAmong([.. MobileOneVariants.Names]);
        if (defaultVariant is not null)
        {
            Variant.DefaultValueFactory = _ => defaultVariant;
            Variant.Description += $" Default: {defaultVariant}.";
        }
        else
        {
            Variant.Description += " Default: inferred from the checkpoint.";
        }
        command.Add(Variant);
        command.Add(Config);
        command.Validators.Add(result =>
        {
            var explicitVariant = result.GetResult(Variant) is { Implicit: false };
            if (explicitVariant && result.GetResult(Config) is not null)
                result.AddError("give either --variant or --config, not both");
        });
    }

    /// <summary>The requested configuration; null when neither option was given and there is no default.</summary>
    public MobileOneConfig? Resolve(ParseResult parsed)
    {
        var file = parsed.GetValue(Config);
        if (file is not null) return MobileOneConfig.FromJsonFile(file.FullName);
        var name = parsed.GetValue(Variant);
        return name is null ? null : MobileOneVariants.Get(name);
    }
}
