using System.Globalization;
using Google.Protobuf;
using MobileOne.Export;
using MobileOne.IO;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>
/// An exported ONNX file run by ONNX Runtime against the TorchSharp model it came from, on one seeded
/// random batch with the model's own channels: at the export size, or at an odd 193x257 when the graph
/// takes any size.
/// </summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Height">Height of the random batch.</param>
/// <param name="Width">Width of the random batch.</param>
/// <param name="Channels">Channels of the random batch.</param>
/// <param name="MaxDifference">Largest absolute difference between the two runtimes' logits.</param>
/// <param name="Scale">The larger of 1 and the largest absolute TorchSharp logit.</param>
public sealed record OnnxExportCheck(string Path, int Height, int Width, int Channels, double MaxDifference, double Scale = 1)
{
    /// <summary>Relative tolerance of the check (float32 rounding in two runtimes that order their sums differently).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>True when the runtimes agree within <see cref="Tolerance"/> of <see cref="Scale"/> (false for NaN).</summary>
    public bool Agrees => MaxDifference <= Tolerance * Scale;

    /// <summary>Runs <paramref name="path"/> (exported from <paramref name="model"/> with <paramref name="options"/>) and the model itself.</summary>
    public static OnnxExportCheck Run(MobileOneModel model, string path, OnnxExportOptions options) =>
        Run(model, OnnxEngine.ReadFile(path), path, options);

    /// <summary>
    /// Exports <paramref name="model"/> to <paramref name="path"/> and checks the file before it takes that name:
    /// when ONNX Runtime disagrees with the model, or cannot run the graph, nothing is written (a file already
    /// at <paramref name="path"/> is left as it was) and the failure is thrown.
    /// </summary>
    public static OnnxExportCheck ExportChecked(MobileOneModel model, string path, OnnxExportOptions options)
    {
        var proto = OnnxExporter.Build(model, options);
        OnnxExportCheck? check = null;
        AtomicFile.Write(path, s => proto.WriteTo(s), staged => check = Run(model, File.ReadAllBytes(staged), path, options).EnsureAgrees());
        return check!;
    }

    private static OnnxExportCheck Run(MobileOneModel model, byte[] onnx, string path, OnnxExportOptions options)
    {
        // Odd sizes: a graph that only looks dynamic would fail here.
        int h = options.DynamicSpatial ? 193 : options.InputHeight, w = options.DynamicSpatial ? 257 : options.InputWidth;
        int c = model.Config.InChannels;
        using var scope = NewDisposeScope();
        var x = randn(1, c, h, w, generator: new Generator(0));
        using var engine = new OnnxEngine(onnx, 1, path);
        var ort = engine.Run(x.data<float>().ToArray(), 1, h, w);
        using var noGrad = no_grad();
        var reference = model.forward(x);
        double diff = (reference - tensor(ort, [1, engine.NumClasses])).abs().max().item<float>();
        double scale = Math.Max(1.0, reference.abs().max().item<float>());
        return new OnnxExportCheck(path, h, w, c, diff, scale);
    }

    /// <summary>Throws, writing the numbers, when the runtimes disagree; returns the check otherwise.</summary>
    public OnnxExportCheck EnsureAgrees() => Agrees ? this : throw new MobileOneException(string.Format(CultureInfo.InvariantCulture,
        "{0}: ONNX Runtime's logits differ from TorchSharp's by {1:E2} (logits up to {2:G3}) on a random 1x{3}x{4}x{5} batch; the file was not written",
        Path, MaxDifference, Scale, Channels, Height, Width));

    /// <summary>One line: the batch and the difference found.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "checked with ONNX Runtime on a random 1x{0}x{1}x{2} batch: max |ONNX - TorchSharp| = {3:E2}", Channels, Height, Width, MaxDifference);
}
