using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileOne.Models;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone info</c>: parameter and MAC counts and the per-stage layout of an architecture.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("info", "Show parameter counts (unfused and fused), MACs of the fused model and the per-stage layout.");
        var model = new ModelOptions(command, defaultVariant: "s0");
        var size = new InputSizeOption("Input size: N for NxN, or HxW (e.g. 256x192).");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        command.Add(size.Option);
        command.Add(json);
        command.SetAction(parsed =>
        {
            var config = model.Resolve(parsed)!;
            var (h, w) = size.Get(parsed);
            var profile = ModelProfile.Compute(config, h, w);
            if (parsed.GetValue(json)) console.Out.WriteLine(ToJson(profile));
            else WriteTable(console.Out, profile);
            return 0;
        });
        return command;
    }

    private static string ToJson(ModelProfile p) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["variant"] = MobileOneVariants.NameOf(p.Config),
        ["config"] = JsonDocument.Parse(p.Config.ToJson()).RootElement,
        ["input_size"] = new[] { p.InputHeight, p.InputWidth },
        ["params_unfused"] = p.ParamsUnfused,
        ["params_fused"] = p.ParamsFused,
        ["macs_fused"] = p.MacsFused,
        ["macs_unfused"] = p.MacsUnfused,
        ["stages"] = p.Stages.Select(s => new Dictionary<string, object>
        {
            ["name"] = s.Name, ["blocks"] = s.Blocks, ["channels"] = s.Channels, ["stride"] = s.Stride,
            ["output_size"] = new[] { s.OutputHeight, s.OutputWidth },
            ["params_fused"] = s.ParamsFused, ["params_unfused"] = s.ParamsUnfused,
            ["macs_fused"] = s.MacsFused, ["macs_unfused"] = s.MacsUnfused,
        }).ToArray(),
    });

    private static void WriteTable(TextWriter o, ModelProfile p)
    {
        var inv = CultureInfo.InvariantCulture;
        var name = MobileOneVariants.NameOf(p.Config);
        o.WriteLine(name is null ? "MobileOne (custom configuration)" : $"MobileOne-{name.ToUpperInvariant()}");
        o.WriteLine($"  {p.Config}");
        o.WriteLine($"  input {p.InputHeight}x{p.InputWidth}");
        o.WriteLine();
        o.WriteLine(string.Format(inv, "  {0,-10} {1,14} {2,14}", "", "train-time", "fused"));
        o.WriteLine(string.Format(inv, "  {0,-10} {1,14:N0} {2,14:N0}", "params", p.ParamsUnfused, p.ParamsFused));
        o.WriteLine(string.Format(inv, "  {0,-10} {1,14:N0} {2,14:N0}", "MACs", p.MacsUnfused, p.MacsFused));
        o.WriteLine();
        o.WriteLine(string.Format(inv, "  {0,-7} {1,6} {2,9} {3,7} {4,10} {5,14} {6,16}", "stage", "blocks", "channels", "stride", "output", "params (fused)", "MACs (fused)"));
        foreach (var s in p.Stages)
            o.WriteLine(string.Format(inv, "  {0,-7} {1,6} {2,9} {3,7} {4,10} {5,14:N0} {6,16:N0}",
                s.Name, s.Blocks, s.Channels, s.Stride, $"{s.OutputHeight}x{s.OutputWidth}", s.ParamsFused, s.MacsFused));
        o.WriteLine(string.Format(inv, "  {0,-7} {1,6} {2,9} {3,7} {4,10} {5,14:N0} {6,16:N0}",
            "head", "", p.Config.NumClasses, "", "", p.ParamsFused - p.Stages.Sum(s => s.ParamsFused), p.MacsFused - p.Stages.Sum(s => s.MacsFused)));
    }
}
