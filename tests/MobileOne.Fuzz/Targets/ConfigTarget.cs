using System.Text;
using System.Text.Json.Nodes;
using MobileOne.Fuzz.Mutation;
using MobileOne.Models;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// <c>MobileOneConfig.FromJsonFile</c> then <c>new MobileOneModel(config)</c>, as <c>--config</c> does:
/// the JSON reading, the validation, and whether what passes validation can be built.
/// </summary>
public sealed class ConfigTarget : FuzzTarget
{
    private sealed record Seed(string Name, JsonNode Json, double Weight);

    private static readonly Dictionary<string, string[]> Values = new()
    {
        ["num_blocks_per_stage"] = ["[100000000,1,1,1]", "[1,2147483647,1,1]", "[0,1,1,1]", "[-1,1,1,1]", "[1000,1000,1000,1000]", "[1.5,1,1,1]",
                                    "[\"2\",1,1,1]", "[null,1,1,1]", "[1e30,1,1,1]", "[99999999999,1,1,1]", "[100000,1,1,1]", "[1,1,10000,1]", "[]",
                                    "[1,1,1]", "[1,1,1,1,1]", "\"1111\"", "[[1],[1],[1],[1]]"],
        ["width_multipliers"] = ["[1024,0.25,0.5,0.5]", "[1024,512,256,128]", "[0.25,512,0.5,0.5]", "[0.25,0.25,256,128]", "[1e308,1,1,1]",
                                 "[-1,1,1,1]", "[0,1,1,1]", "[1e-9,1,1,1]", "[0.0001,1,1,1]", "[1024.01,1,1,1]", "[1,1,1]", "[\"1\",1,1,1]",
                                 "[4.9e-324,1,1,1]", "[128,128,128,128]"],
        ["num_classes"] = ["2147483647", "100000000", "1000000", "0", "-5", "1e10", "\"10\"", "10.5", "16777216"],
        ["num_conv_branches"] = ["64", "65", "0", "1000000", "-1", "2147483647"],
        ["in_channels"] = ["64", "65", "0", "3.0", "-3"],
        ["strides"] = ["[2,2,2,2]", "[1,1,1,1,1]", "[3,2,2,2,2]", "[2,2,2,2,2,2]", "\"2\"", "[0,2,2,2,2]", "[2147483647,2,2,2,2]"],
        ["use_se"] = ["\"yes\"", "1", "null", "true", "false"],
        ["variant"] = ["\"s9\"", "\"\"", "123", "\"S0\"", "\"s0\\u0000\"", "\"s4\"", "null", "\"s0 \"", "\"\\u0073\\u0030\""],
        ["use_scale_branch"] = ["false", "\"no\"", "0"],
        ["use_skip_branch"] = ["false", "\"no\"", "0"],
        ["inference_mode"] = ["true", "\"x\"", "[]"],
    };

    private List<Seed> seeds = [];

    /// <inheritdoc/>
    public override string Name => "config";

    /// <inheritdoc/>
    public override void Run(string path)
    {
        using var model = new MobileOneModel(MobileOneConfig.FromJsonFile(path));
    }

    /// <inheritdoc/>
    public override FuzzPlan Prepare(SeedFactory factory)
    {
        var tiny = JsonNode.Parse(SeedFactory.Tiny.ToJson())!;
        seeds =
        [
            new("tiny", tiny, 0.45),
            new("tiny-se", JsonNode.Parse(SeedFactory.TinySe.ToJson())!, 0.3),
            new("variant-s0", JsonNode.Parse("{\"variant\": \"s0\", \"num_classes\": 10}")!, 0.1),
            new("wrapped", new JsonObject { ["name"] = "tiny", ["config"] = tiny.DeepClone() }, 0.15),
        ];
        return new FuzzPlan(
            seeds.Select(s => new Mutant(Encoding.UTF8.GetBytes(s.Json.ToJsonString()), ".json", "seed", $"seed {s.Name}")).ToList(),
            [
                new("values", 6, KeyValue),
                new("structure", 2, Structure),
                new("any-node", 1.5, AnyNode),
                new("bytes", 1.5, Havoc),
            ]);
    }

    private Seed PickSeed(Random rng)
    {
        double x = rng.NextDouble() * seeds.Sum(s => s.Weight);
        foreach (var s in seeds)
            if ((x -= s.Weight) < 0) return s;
        return seeds[^1];
    }

    // The object holding the configuration's keys (the seed's root, or its "config").
    private static JsonObject Body(JsonSurgery surgery) =>
        surgery.Root["config"] as JsonObject ?? (JsonObject)surgery.Root;

    private static Mutant Make(Seed seed, JsonSurgery surgery, string strategy, string detail) =>
        new(surgery.Serialize(), ".json", strategy, $"seed {seed.Name}: {detail}");

    private Mutant KeyValue(Random rng)
    {
        var seed = PickSeed(rng);
        var surgery = new JsonSurgery(seed.Json);
        var body = Body(surgery);
        var notes = new List<string>();
        int edits = rng.Chance(0.25) ? 2 : 1;
        for (int i = 0; i < edits; i++)
        {
            var key = rng.Pick(Values.Keys.ToList());
            var raw = rng.Pick(Values[key]);
            body[key] = surgery.Placeholder(raw);
            notes.Add($"{key} := {raw}");
        }
        return Make(seed, surgery, "values", string.Join(", ", notes));
    }

    private Mutant Structure(Random rng)
    {
        var seed = PickSeed(rng);
        var surgery = new JsonSurgery(seed.Json);
        var body = Body(surgery);
        var keys = body.Select(kv => kv.Key).ToList();
        string detail;
        switch (rng.Next(4))
        {
            case 0:
            {
                var key = rng.Pick(keys);
                var values = Values.TryGetValue(key, out var v) ? v : ["1"];
                var raw = rng.Pick(values);
                surgery.Duplicate(body, key, surgery.Placeholder(raw));
                detail = $"duplicate key '{key}' (second value {raw})";
                break;
            }
            case 1:
            {
                var key = rng.Pick(keys);
                body.Remove(key);
                detail = $"'{key}' removed";
                break;
            }
            case 2:
            {
                var name = rng.Pick(new[] { "unknown", "", "num_blocks_per_stage ", "NUM_CLASSES", "config", "\u0000" });
                body[name] = 1;
                detail = $"extra key '{name}'";
                break;
            }
            default:
            {
                var (raw, what) = JsonSurgery.RandomRaw(rng);
                detail = $"document := {what}";
                return new Mutant(raw, ".json", "structure", $"seed {seed.Name}: {detail}");
            }
        }
        return Make(seed, surgery, "structure", detail);
    }

    private Mutant AnyNode(Random rng)
    {
        var seed = PickSeed(rng);
        var surgery = new JsonSurgery(seed.Json);
        var (path, _, parent, property, index) = rng.Pick(surgery.Nodes());
        var (raw, what) = JsonSurgery.RandomRaw(rng);
        JsonSurgery.Replace(parent, property, index, surgery.Placeholder(raw));
        return Make(seed, surgery, "any-node", $"{path} := {what}");
    }

    private Mutant Havoc(Random rng)
    {
        var seed = PickSeed(rng);
        var (data, detail) = Bytes.Havoc(rng, Encoding.UTF8.GetBytes(seed.Json.ToJsonString()));
        return new Mutant(data, ".json", "bytes", $"seed {seed.Name}: {detail}");
    }
}
