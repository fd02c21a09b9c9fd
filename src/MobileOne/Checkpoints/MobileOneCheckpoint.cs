using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Checkpoints;

/// <summary>A model read from a checkpoint, with what was detected about the file.</summary>
/// <param name="Model">The network, in eval mode, fused or not as the checkpoint was.</param>
/// <param name="Layout">The key layout the file used.</param>
/// <param name="Format">The file format.</param>
/// <param name="Fused">True when the checkpoint held inference-form (reparameterised) weights.</param>
/// <param name="Variant">The named variant (s0..s4) the architecture matches, if any.</param>
public sealed record LoadedCheckpoint(MobileOneModel Model, CheckpointLayout Layout, CheckpointFormat Format, bool Fused, string? Variant)
{
    /// <summary>One line for a log: the network, the layout, the form and the format (e.g. "MobileOne-S0, apple layout, fused, pth").</summary>
    public string Describe() =>
        $"{(Variant is null ? "MobileOne (custom)" : "MobileOne-" + Variant.ToUpperInvariant())}, " +
        $"{Layout.ToString().ToLowerInvariant()} layout, {(Fused ? "fused" : "train-time")}, {Format.ToString().ToLowerInvariant()}";
}

/// <summary>A checkpoint's tensors in Apple's layout, with the architecture they belong to, before any model is built.</summary>
/// <param name="Weights">The tensors, renamed to Apple's layout.</param>
/// <param name="Config">The architecture: the one requested with the checkpoint's class count, or the one read off the shapes.</param>
/// <param name="Layout">The key layout the file used.</param>
/// <param name="Format">The file format.</param>
/// <param name="Fused">True when the checkpoint holds inference-form (reparameterised) weights.</param>
public sealed record CheckpointContents(StateDict Weights, MobileOneConfig Config, CheckpointLayout Layout, CheckpointFormat Format, bool Fused);

/// <summary>
/// Loads MobileOne checkpoints of any supported layout and format into a <see cref="MobileOneModel"/>,
/// and saves models in any of them, so that Apple's and timm's PyTorch code load what is written here.
/// </summary>
public static class MobileOneCheckpoint
{
    /// <summary>Name of the configuration file read from a checkpoint's folder when no configuration is given.</summary>
    public const string SidecarConfigName = "model_config.json";

    /// <summary>
    /// Reads a checkpoint. The layout (Apple, timm, mmpretrain), the format and whether it is fused are
    /// detected. Without <paramref name="config"/> the architecture is read off the tensor shapes; with it,
    /// a checkpoint of another architecture is refused with a message naming both. The class count is always
    /// the checkpoint's: a configuration names an architecture, and the classifier is whatever the weights hold.
    /// </summary>
    public static LoadedCheckpoint Load(string path, MobileOneConfig? config = null)
    {
        var contents = Read(path, config);
        var model = new MobileOneModel(contents.Config, inferenceMode: contents.Fused);
        LoadInto(model, contents.Weights, path);
        model.eval();
        return new LoadedCheckpoint(model, contents.Layout, contents.Format, contents.Fused, MobileOneVariants.NameOf(contents.Config, ignoreBranches: contents.Fused));
    }

    /// <summary>Reads a checkpoint's tensors and architecture as <see cref="Load"/> does, without building the model.</summary>
    public static CheckpointContents Read(string path, MobileOneConfig? config = null)
    {
        // A training run keeps model_config.json beside its checkpoints: it records what the weights
        // cannot show (strides, input channels).
        var sidecar = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", SidecarConfigName);
        if (config is null && File.Exists(sidecar)) config = MobileOneConfig.FromJsonFile(sidecar);
        var format = CheckpointFile.Detect(path);
        var raw = CheckpointFile.Read(path);
        var layout = LayoutConverter.Detect(raw.Keys.Select(k => k.StartsWith("module.", StringComparison.Ordinal) ? k[7..] : k), path);
        var apple = LayoutConverter.ToApple(raw, layout, path);
        ConfigInference.Result? inferred = null;
        CheckpointException? inferenceError = null;
        try { inferred = ConfigInference.Infer(apple, path); }
        catch (CheckpointException e) { inferenceError = e; }

        bool fused;
        if (config is null)
        {
            if (inferred is null) throw inferenceError!;
            config = inferred.Config;
            fused = inferred.Fused;
        }
        else
        {
            fused = inferred?.Fused ?? apple.Keys.Any(k => k.Contains(".reparam_conv."));
            if (inferred is not null)
            {
                // Strides are not recorded in weights: the request's hold. The class count is the weights'.
                CheckMatches(config, inferred with { Config = inferred.Config.WithInput(inferred.Config.InChannels, config.Strides) }, path);
                config = config.WithNumClasses(inferred.Config.NumClasses);
            }
        }
        return new CheckpointContents(apple, config, layout, format, fused);
    }

    private static void CheckMatches(MobileOneConfig requested, ConfigInference.Result found, string path)
    {
        var requestedName = MobileOneVariants.NameOf(requested);
        if (!requested.SameBackbone(found.Config, ignoreBranches: true))
        {
            if (requestedName is not null && found.Variant is not null)
                throw new CheckpointException($"{path}: this looks like {found.Variant.ToUpperInvariant()}, you asked for {requestedName.ToUpperInvariant()}");
            throw new CheckpointException($"{path}: the checkpoint's architecture ({found.Config}) differs from the one requested ({requested})");
        }
        if (!found.Fused && requested.NumConvBranches != found.Config.NumConvBranches)
            throw new CheckpointException($"{path}: the checkpoint has k={found.Config.NumConvBranches} conv branches per block, the configuration asks for k={requested.NumConvBranches}");
    }

    /// <summary>
    /// Copies a state dict (Apple layout) into a model, by name. Every missing key, unexpected key and
    /// shape mismatch is reported together. A missing <c>num_batches_tracked</c> is accepted, as PyTorch does.
    /// The model's tensors that <paramref name="keep"/> names are left as they are and must not be in the file.
    /// </summary>
    public static void LoadInto(nn.Module model, StateDict apple, string source, Func<string, bool>? keep = null)
    {
        var target = model.state_dict().Where(kv => keep is null || !keep(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var missing = target.Keys.Where(k => !apple.ContainsKey(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
        var unexpected = apple.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var mismatched = target.Where(kv => apple.TryGetValue(kv.Key, out var t) && !t.Shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"'{kv.Key}': expected {CheckpointTensor.FormatShape(kv.Value.shape)}, found {CheckpointTensor.FormatShape(apple[kv.Key].Shape)}")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {Summarize(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {Summarize(unexpected)}");
            if (mismatched.Count > 0) parts.Add($"shape mismatch ({mismatched.Count}): {Summarize(mismatched)}");
            throw new CheckpointException($"{source}: the checkpoint does not fit the model: {string.Join("; ", parts)}");
        }
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target)
        {
            if (!apple.TryGetValue(name, out var value)) continue;
            using var stored = value.ToTorch();
            using var converted = stored.to(tensor.dtype);
            tensor.copy_(converted);
        }
    }

    private static string Summarize(List<string> items) =>
        string.Join(", ", items.Take(12)) + (items.Count > 12 ? $", ... ({items.Count - 12} more)" : "");

    /// <summary>
    /// The model's tensors in Apple's layout and in PyTorch's state-dict order (each module's own
    /// parameters, then its buffers, then its children), which TorchSharp's <c>state_dict()</c> does not keep.
    /// </summary>
    public static StateDict ToStateDict(nn.Module model)
    {
        var result = new StateDict();
        void Visit(nn.Module m, string prefix)
        {
            foreach (var (name, p) in m.named_parameters(recurse: false)) result.Add(prefix + name, CheckpointTensor.FromTorch(p));
            foreach (var (name, b) in m.named_buffers(recurse: false)) result.Add(prefix + name, CheckpointTensor.FromTorch(b));
            foreach (var (name, child) in m.named_children()) Visit(child, prefix + name + ".");
        }
        Visit(model, "");
        return result;
    }

    /// <summary>Writes the model's weights in the given layout and format, atomically.</summary>
    public static void Save(nn.Module model, string path, CheckpointLayout layout = CheckpointLayout.Apple, CheckpointFormat? format = null) =>
        CheckpointFile.Write(path, LayoutConverter.FromApple(ToStateDict(model), layout), format ?? CheckpointFile.FormatFromExtension(path));
}
