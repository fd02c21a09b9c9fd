using System.Globalization;
using MobileOne.Export;
using MobileOne.Models;
using MobileOne.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileOne.Inference;

/// <summary>
/// An exported segmenter run by ONNX Runtime against the TorchSharp model it came from, on seeded random images of
/// two sizes (the graph's height and width are free: one size proves little): the logits at each size, and the
/// share of pixels whose class (the argmax) differs.
/// </summary>
/// <param name="Path">The ONNX file (or where it goes).</param>
/// <param name="Sizes">The (height, width) of the images.</param>
/// <param name="LogitDifference">Largest |ONNX - TorchSharp| of the logits, relative to the largest |logit|, over both sizes.</param>
/// <param name="ClassMismatch">Share of the pixels whose argmax differs, over both sizes.</param>
public sealed record SegmenterExportCheck(string Path, IReadOnlyList<(int Height, int Width)> Sizes, double LogitDifference, double ClassMismatch)
{
    /// <summary>The largest relative difference of the logits the check accepts.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>The largest share of pixels whose class may differ: near-ties between two logits may go either way.</summary>
    public const double MaxClassMismatch = 1e-3;

    /// <summary>The sizes checked by default: not multiples of the output stride, one wider than high and one higher than wide.</summary>
    public static IReadOnlyList<(int Height, int Width)> DefaultSizes { get; } = [(97, 130), (150, 88)];

    /// <summary>
    /// Exports <paramref name="model"/> (a MobileOne backbone folded first), checks the graph against the model in memory
    /// at <see cref="DefaultSizes"/>, and writes it to <paramref name="path"/> atomically only when they agree; a clear error otherwise.
    /// </summary>
    public static SegmenterExportCheck ExportChecked(DeepLabV3 model, string path, SegmenterExportOptions options)
    {
        SegmenterExporter.Check(model, options);
        var folded = SegmenterFold.Fold(model, options.Config);
        try
        {
            var onnx = SegmenterExporter.ToBytes(folded, options);
            var check = Run(folded, onnx, path, DefaultSizes);
            if (!check.Agrees)
                throw new MobileOneException($"{path}: not written: ONNX Runtime disagrees with TorchSharp on the exported segmenter ({check.Summary})");
            IO.AtomicFile.WriteAllBytes(path, onnx);
            return check;
        }
        finally
        {
            if (!ReferenceEquals(folded, model)) folded.Dispose();
        }
    }

    /// <summary>Runs <paramref name="onnx"/> (named <paramref name="source"/>) and <paramref name="model"/> on a random image of each of <paramref name="sizes"/>.</summary>
    public static SegmenterExportCheck Run(DeepLabV3 model, byte[] onnx, string source, IReadOnlyList<(int Height, int Width)> sizes)
    {
        using var file = new OnnxSegmenter(onnx, source: source);
        double worst = 0, scale = 0;
        long differ = 0, pixels = 0;
        foreach (var (h, w) in sizes)
        {
            using var scope = NewDisposeScope();
            var x = randn(1, model.Backbone.InChannels, h, w, generator: new Generator((ulong)(h * 10_000 + w)));
            var actual = tensor(file.Run(x.data<float>().ToArray(), 1, h, w), [1, file.NumClasses, h, w]);
            var expected = Expected(model, x);
            if (!expected.shape.SequenceEqual(actual.shape)) return new SegmenterExportCheck(source, sizes, double.PositiveInfinity, 1);
            worst = Math.Max(worst, (actual - expected).abs().max().item<float>());
            scale = Math.Max(scale, expected.abs().max().item<float>());
            differ += actual.argmax(1).ne(expected.argmax(1)).sum().item<long>();
            pixels += (long)h * w;
        }
        return new SegmenterExportCheck(source, sizes, scale > 0 ? worst / scale : worst, (double)differ / pixels);
    }

    // The graph holds the BatchNorm statistics: so must the reference, whatever mode the caller left it in.
    private static Tensor Expected(DeepLabV3 model, Tensor x)
    {
        using var noGrad = no_grad();
        using var evalMode = new EvalMode(model);
        return model.call(x);
    }

    /// <summary>True when the logits agree within <see cref="Tolerance"/> and the classes within <see cref="MaxClassMismatch"/>.</summary>
    public bool Agrees => LogitDifference <= Tolerance && ClassMismatch <= MaxClassMismatch;

    /// <summary>One line: the images and the differences found.</summary>
    public string Summary => string.Format(CultureInfo.InvariantCulture,
        "checked with ONNX Runtime on random images of {0}: logits within {1:E2} (relative) of TorchSharp, {2:P3} of the pixels of another class",
        string.Join(" and ", Sizes.Select(s => $"{s.Height}x{s.Width}")), LogitDifference, ClassMismatch);
}
