using System.Globalization;
using MobileOne.Export;
using MobileOne.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>
/// An exported ONNX file run by ONNX Runtime against the TorchSharp model it came from, on one seeded
/// random batch: at the export size, or at an odd 193x257 when the graph takes any size.
/// </summary>
/// <param name="Path">The ONNX file.</param>
/// <param name="Height">Height of the random batch.</param>
/// <param name="Width">Width of the random batch.</param>
/// <param name="Channels">Channels of the random batch.</param>
/// <param name="MaxDifference">Largest absolute difference between the two runtimes' logits.</param>
public sealed record OnnxExportCheck(string Path, int Height, int Width, int Channels, double MaxDifference)
{
    /// <summary>Runs <paramref name="path"/> (exported from <paramref name="model"/> with <paramref name="options"/>) and the model itself.</summary>
    public static OnnxExportCheck Run(MobileOneModel model, string path, OnnxExportOptions options)
    {
        // Odd sizes: a graph that only looks dynamic would fail here.
        int h = options.DynamicSpatial ? 193 : options.InputHeight, w = options.DynamicSpatial ? 257 : options.InputWidth;
        int c = model.Config.InChannels;
        using var scope = NewDisposeScope();
        var x = randn(1, c, h, w, generator: new Generator(0));
        using var engine = new OnnxEngine(path);
        var ort = engine.Run(x.data<float>().ToArray(), 1, h, w);
        using var noGrad = no_grad();
        double diff = (model.forward(x) - tensor(ort, [1, engine.NumClasses])).abs().max().item<float>();
        return new OnnxExportCheck(path, h, w, c, diff);
    }

    /// <summary>One line: the batch and the difference found.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "checked with ONNX Runtime on a random 1x{0}x{1}x{2} batch: max |ONNX - TorchSharp| = {3:E2}", Channels, Height, Width, MaxDifference);
}
