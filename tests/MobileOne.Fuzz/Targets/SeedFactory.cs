using MobileOne.Checkpoints;
using MobileOne.Models;
using MobileOne.Reparameterization;
using static TorchSharp.torch;

namespace MobileOne.Fuzz.Targets;

/// <summary>
/// Builds the valid files the mutations start from, in code: tiny MobileOnes saved in each layout and
/// format, fused and not, and their ONNX export. Models are made once and shared by the targets.
/// </summary>
public sealed class SeedFactory : IDisposable
{
    /// <summary>The tiny architecture of every checkpoint seed: 1 block pair per stage, 16-256 channels, k = 2, 4 classes.</summary>
    public static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.5, 0.5], false, 2, 4);

    /// <summary>The same with Squeeze-Excite in the last stages (the SE keys move between layouts).</summary>
    public static readonly MobileOneConfig TinySe = new([1, 1, 2, 1], [0.25, 0.25, 0.5, 0.5], true, 2, 4);

    private readonly Dictionary<(MobileOneConfig, bool), MobileOneModel> models = [];

    /// <summary>Creates the factory; <paramref name="directory"/> receives temporary files.</summary>
    public SeedFactory(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
        manual_seed(0);
    }

    /// <summary>Folder for temporary files written while building seeds.</summary>
    public string Directory { get; }

    /// <summary>The (cached) model of <paramref name="config"/>, fused or train-time.</summary>
    public MobileOneModel Model(MobileOneConfig config, bool fused)
    {
        if (models.TryGetValue((config, fused), out var m)) return m;
        var model = fused ? Reparameterizer.Fuse(Model(config, fused: false)) : new MobileOneModel(config);
        model.eval();
        models[(config, fused)] = model;
        return model;
    }

    /// <summary>Bytes of a file written by <paramref name="write"/> to a temporary path.</summary>
    public byte[] ViaFile(string name, Action<string> write)
    {
        var path = Path.Combine(Directory, name);
        write(path);
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    /// <summary>A checkpoint of the model in the given layout and format.</summary>
    public byte[] Checkpoint(MobileOneConfig config, bool fused, CheckpointLayout layout, CheckpointFormat format) =>
        ViaFile(format == CheckpointFormat.Pth ? "seed.pth" : "seed.safetensors", p => MobileOneCheckpoint.Save(Model(config, fused), p, layout, format));

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var m in models.Values) m.Dispose();
        models.Clear();
    }
}
