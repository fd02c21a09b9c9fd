using System.Text.Json;
using MobileOne.Data;
using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>Detections of one image, as <c>detect predict</c> reports them.</summary>
/// <param name="Image">The image file.</param>
/// <param name="Width">Its width.</param>
/// <param name="Height">Its height.</param>
/// <param name="Boxes">What was found, best first, in the image's pixels.</param>
public sealed record ImageDetections(string Image, int Width, int Height, IReadOnlyList<DetectedBox> Boxes)
{
    /// <summary>JSON: the image, its size, and per box its label, category id and name, score and x1, y1, x2, y2.</summary>
    public string ToJson(DetectorConfig config) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["image"] = Image, ["width"] = Width, ["height"] = Height,
        ["detections"] = Boxes.Select(b => new Dictionary<string, object>
        {
            ["label"] = b.Label, ["category_id"] = config.CategoryId(b.Label), ["name"] = config.LabelName(b.Label),
            ["score"] = Math.Round(b.Score, 5), ["box"] = new[] { b.X1, b.Y1, b.X2, b.Y2 }.Select(v => Math.Round(v, 2)).ToArray(),
        }).ToArray(),
    }, new JsonSerializerOptions { WriteIndented = true });
}

/// <summary>Runs a detector on image files: resized to its input, normalised to [-1, 1] as it was trained, SSD's post-processing, boxes in the file's pixels.</summary>
public static class DetectorPrediction
{
    /// <summary>
    /// The detections scoring at least <paramref name="minScore"/> on the image at <paramref name="path"/>, and a PNG of
    /// the image with them drawn (<see cref="DetectionDrawing"/>), from one decoding of the file.
    /// </summary>
    public static (ImageDetections Found, byte[] Drawn) PredictAndDraw(LoadedDetector detector, string path, double minScore)
    {
        var image = ImageDecoder.Decode(path);
        var found = new ImageDetections(path, image.Width, image.Height, Predict(detector, image, minScore));
        return (found, DetectionDrawing.Png(image, found.Boxes, detector.Config.LabelName));
    }

    /// <summary>The detections scoring at least <paramref name="minScore"/> on <paramref name="image"/>.</summary>
    public static IReadOnlyList<DetectedBox> Predict(LoadedDetector detector, RgbImage image, double minScore)
    {
        int size = detector.Config.ImageSize;
        var input = new float[3 * size * size];
        var normalize = SsdLite.Normalization with { Size = size };
        normalize.Normalize(Resample.Bilinear(image, size, size), 0, 0, input);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = detector.Model;
        var (codes, logits, grids) = model.ForwardHeads(tensor(input, [1, 3, size, size]));
        var boxes = model.Postprocessor.Run(codes[0], logits[0], model.Anchors(grids, size, size), model.Coder, size, size,
            (double)image.Width / size, (double)image.Height / size);
        return boxes.Where(b => b.Score >= minScore).ToList();
    }
}
