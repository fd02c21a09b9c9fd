using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MobileOne.Detection;
using MobileOne.Segmentation;
using MobileOne.Zoo;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone zoo</c>: the networks of the metric study with their parameter and MAC counts.</summary>
internal static class ZooCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("zoo", "List the networks: the classifiers of the metric study (parameters and MACs at 224x224) the detectors (at 320x320) and the segmenters (at 512x512); deployed form, and train-time too where it folds.");
        var json = new Option<bool>("--json") { Description = "Print a JSON list of {name, task, family, reference, num_classes, input_size, params, macs, train_params, train_macs}." };
        command.Add(json);
        command.SetAction(parsed =>
        {
            var rows = NetworkZoo.Entries.Concat(DetectorZoo.Entries).Concat(SegmenterZoo.Entries).Select(e =>
            {
                using var deployed = e.Create();
                var d = NetworkCost.Measure(deployed, e.InputSize, e.InputSize);
                NetworkCost.Counts? t = null;
                if (e.Reparameterizable)
                {
                    using var train = e.Create(deployed: false);
                    t = NetworkCost.Measure(train, e.InputSize, e.InputSize);
                }
                return (Entry: e, Deployed: d, Train: t);
            }).ToList();
            if (parsed.GetValue(json))
            {
                console.Out.WriteLine(JsonSerializer.Serialize(rows.Select(r => new Dictionary<string, object?>
                {
                    ["name"] = r.Entry.Name, ["task"] = r.Entry.Task, ["family"] = r.Entry.Family, ["reference"] = r.Entry.Reference,
                    ["num_classes"] = r.Entry.NumClasses, ["input_size"] = r.Entry.InputSize,
                    ["params"] = r.Deployed.Params, ["macs"] = r.Deployed.Macs,
                    ["train_params"] = r.Train?.Params, ["train_macs"] = r.Train?.Macs,
                }), new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var inv = CultureInfo.InvariantCulture;
            console.Out.WriteLine(string.Format(inv, "{0,-30} {1,-12} {2,12} {3,15} {4,18}  {5}", "network", "family", "params", "MACs", "train-time params", "definition"));
            foreach (var (e, d, t) in rows)
                console.Out.WriteLine(string.Format(inv, "{0,-30} {1,-12} {2,12:N0} {3,15:N0} {4,18}  {5}", e.Name, e.Family, d.Params, d.Macs,
                    t is null ? "-" : t.Params.ToString("N0", inv), e.Reference));
            console.Out.WriteLine("MACs: convolutions, linear layers and attention products of the deployed (folded) form, per image at 224x224 (detectors: 320x320, segmenters: 512x512).");
            return 0;
        });
        return command;
    }
}
