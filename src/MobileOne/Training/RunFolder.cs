using System.Globalization;
using System.Text.Json;
using MobileOne.Checkpoints;
using MobileOne.IO;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Training;

/// <summary>
/// The files of a training run: config.json and model_config.json, metrics.jsonl, state.safetensors
/// (everything needed to resume), last/best/ema weights in Apple's layout, and plots. Every file is
/// written atomically; state.safetensors is written last, so whatever it says is on disk.
/// </summary>
public sealed class RunFolder
{
    /// <summary>Uses (and creates) <paramref name="path"/>.</summary>
    public RunFolder(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The training run whose folder holds <paramref name="checkpoint"/>, or null when that folder has no <see cref="ConfigName"/>.</summary>
    public static RunFolder? Of(string checkpoint)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(checkpoint))!;
        return System.IO.File.Exists(System.IO.Path.Combine(folder, ConfigName)) ? new RunFolder(folder) : null;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A file in the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>The resumable state file.</summary>
    public string StateFile => File("state.safetensors");

    /// <summary>Whether the folder holds a resumable run.</summary>
    public bool CanResume => System.IO.File.Exists(StateFile) && System.IO.File.Exists(File(ConfigName));

    /// <summary>Name of the run's configuration file.</summary>
    public const string ConfigName = "config.json";

    /// <summary>Name of the file holding the class names of the run's data, by label (a JSON array of strings).</summary>
    public const string ClassNamesName = "classes.json";

    /// <summary>
    /// Writes the resolved configuration, the model's own beside the checkpoints, where loaders look for it,
    /// and the class names of the data when the task has them (for the tools that deploy the weights).
    /// </summary>
    public void WriteConfig(TrainOptions o, string modelConfigJson, IReadOnlyList<string>? classNames = null)
    {
        // The model as the task built it (a flag such as the image size may have changed it since the preset).
        AtomicFile.WriteAllText(File(ConfigName), (o with { Model = modelConfigJson }).ToJson());
        AtomicFile.WriteAllText(File(MobileOneCheckpoint.SidecarConfigName), modelConfigJson);
        if (classNames is not null) AtomicFile.WriteAllText(File(ClassNamesName), JsonSerializer.Serialize(classNames));
    }

    /// <summary>The class names in <see cref="ClassNamesName"/>, or null when the run has none.</summary>
    public IReadOnlyList<string>? ReadClassNames()
    {
        var path = File(ClassNamesName);
        if (!System.IO.File.Exists(path)) return null;
        string[]? names;
        try { names = JsonSerializer.Deserialize<string[]>(BoundedRead.SmallText(path)); }
        catch (JsonException e) { throw new MobileOneException($"{path}: not a JSON array of class names ({e.Message})"); }
        if (names is null || names.Length == 0 || names.Any(n => n is null))
            throw new MobileOneException($"{path}: expected a non-empty JSON array of class names");
        return names;
    }

    /// <summary>
    /// Copies the files that describe the run's model and data (<see cref="ConfigName"/>, the model's configuration
    /// and <see cref="ClassNamesName"/>) into <paramref name="folder"/>, so that a checkpoint derived from the run and
    /// written there is read and deployed as the run's. Returns false, copying nothing, when the folder already holds
    /// any of them: another run's description is never overwritten.
    /// </summary>
    public bool CopyDescriptionTo(string folder)
    {
        var target = System.IO.Path.GetFullPath(folder);
        if (target == Path) return true;
        string[] names = [ConfigName, MobileOneCheckpoint.SidecarConfigName, ClassNamesName];
        if (names.Any(n => System.IO.File.Exists(System.IO.Path.Combine(target, n)))) return false;
        foreach (var name in names.Where(n => System.IO.File.Exists(File(n))))
            AtomicFile.WriteAllText(System.IO.Path.Combine(target, name), BoundedRead.SmallText(File(name)));
        return true;
    }

    /// <summary>Reads the configuration of a run to resume.</summary>
    public TrainOptions ReadConfig()
    {
        var path = File(ConfigName);
        if (!System.IO.File.Exists(path)) throw new MobileOneException($"{Path}: no {ConfigName}; not a training run folder");
        return TrainOptions.FromJson(IO.BoundedRead.SmallText(path), path);
    }

    /// <summary>Rewrites metrics.jsonl with the history (one JSON object per epoch).</summary>
    public void WriteMetrics(IReadOnlyList<EpochMetrics> history) =>
        AtomicFile.WriteAllText(File("metrics.jsonl"), string.Concat(history.Select(m => JsonSerializer.Serialize(m, MetricsJson) + "\n")));

    private static readonly JsonSerializerOptions MetricsJson = new() { Converters = { new EpochMetricsJson() } };

    /// <summary>Reads metrics.jsonl.</summary>
    public List<EpochMetrics> ReadMetrics()
    {
        var path = File("metrics.jsonl");
        if (!System.IO.File.Exists(path)) return [];
        try
        {
            return System.IO.File.ReadAllLines(path).Where(l => l.Trim().Length > 0)
                .Select(l => JsonSerializer.Deserialize<EpochMetrics>(l, MetricsJson) ?? throw new MobileOneException($"{path}: corrupt line")).ToList();
        }
        catch (JsonException e) { throw new MobileOneException($"{path}: corrupt metrics ({e.Message})"); }
    }

    /// <summary>Training position and bookkeeping saved with the state.</summary>
    public sealed record Position(long Step, int Epoch, int BatchInEpoch, long EmaUpdates, double BestScore, double ElapsedSeconds);

    /// <summary>Writes model, EMA and optimiser tensors and the position into state.safetensors.</summary>
    public void SaveState(nn.Module model, ModelEma? ema, Sgd sgd, Position position)
    {
        var state = new StateDict();
        foreach (var (k, v) in MobileOneCheckpoint.ToStateDict(model)) state.Add("model." + k, v);
        if (ema is not null)
            foreach (var (k, v) in MobileOneCheckpoint.ToStateDict(ema.Model)) state.Add("ema." + k, v);
        foreach (var (k, v) in sgd.State()) state.Add("optim." + k, CheckpointTensor.FromTorch(v));
        var inv = CultureInfo.InvariantCulture;
        var meta = new Dictionary<string, string>
        {
            ["step"] = position.Step.ToString(inv),
            ["epoch"] = position.Epoch.ToString(inv),
            ["batch_in_epoch"] = position.BatchInEpoch.ToString(inv),
            ["ema_updates"] = position.EmaUpdates.ToString(inv),
            ["best_score"] = position.BestScore.ToString("R", inv),
            ["elapsed_seconds"] = position.ElapsedSeconds.ToString("R", inv),
        };
        AtomicFile.Write(StateFile, s => SafetensorsFormat.Write(s, state, meta));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote; returns the position.</summary>
    public Position LoadState(nn.Module model, ModelEma? ema, Sgd sgd)
    {
        var all = SafetensorsFormat.Read(StateFile);
        var meta = SafetensorsFormat.ReadMetadata(StateFile);
        StateDict Part(string prefix) => new(all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(kv => new KeyValuePair<string, CheckpointTensor>(kv.Key[prefix.Length..], kv.Value)));
        MobileOneCheckpoint.LoadInto(model, Part("model."), StateFile);
        if (ema is not null) MobileOneCheckpoint.LoadInto(ema.Model, Part("ema."), StateFile);
        var optim = Part("optim.").ToDictionary(kv => kv.Key, kv => kv.Value.ToTorch());
        sgd.LoadState(optim);
        foreach (var t in optim.Values) t.Dispose();
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : throw new MobileOneException($"{StateFile}: metadata lacks '{key}'");
        long Long(string key) => long.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v : throw new MobileOneException($"{StateFile}: metadata '{key}' = '{Get(key)}' is not a count");
        int Int(string key) => Long(key) <= int.MaxValue ? (int)Long(key) : throw new MobileOneException($"{StateFile}: metadata '{key}' = '{Get(key)}' is too large");
        double Number(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v : throw new MobileOneException($"{StateFile}: metadata '{key}' = '{Get(key)}' is not a number");
        return new Position(Long("step"), Int("epoch"), Int("batch_in_epoch"),
            // Runs written before tasks other than classification named the best score after top-1.
            Long("ema_updates"), Number(meta.ContainsKey("best_score") ? "best_score" : "best_top1"), Number("elapsed_seconds"));
    }
}
