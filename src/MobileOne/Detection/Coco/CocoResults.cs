using System.Text.Json;
using MobileOne.IO;

namespace MobileOne.Detection.Coco;

/// <summary>
/// COCO's results format for boxes: a JSON array of <c>{"image_id", "category_id", "bbox": [x, y, w, h], "score"}</c>,
/// the input of COCO's evaluation and of <see cref="Evaluation.CocoEvaluator"/>.
/// </summary>
public static class CocoResults
{
    /// <summary>
    /// Reads a results file and checks it against the ground truth it will be scored on: every detection's
    /// image and category must be in <paramref name="groundTruth"/> (COCO's tools refuse unknown images
    /// too; an unknown category is most often a contiguous label written in place of a category id, so it
    /// is refused rather than silently never scored), its box finite with no negative width or height
    /// (coordinates may be negative: a detector's box may start outside the image), its score finite.
    /// Members other than the four are skipped. An empty array is valid.
    /// </summary>
    /// <exception cref="MobileOneException">The file is missing, too large, not valid JSON, or a detection fails a check; the message names the file and the detection.</exception>
    public static IReadOnlyList<CocoDetection> Load(string path, CocoDataset groundTruth) => Load(path, groundTruth, CocoLimits.Default);

    internal static IReadOnlyList<CocoDetection> Load(string path, CocoDataset groundTruth, CocoLimits limits)
    {
        var detections = new List<CocoDetection>();
        CocoJson.Parse(path, (ref Utf8JsonReader r) =>
            CocoJson.Array(ref r, path, "the file", limits.MaxObjects, (ref Utf8JsonReader e) => detections.Add(Detection(ref e, path, detections.Count))));
        for (int i = 0; i < detections.Count; i++)
        {
            var problem = Problem(detections[i], groundTruth);
            if (problem is not null) throw CocoJson.Error(path, $"detection {i}: {problem}");
        }
        return detections;
    }

    /// <summary>What is wrong with <paramref name="detection"/> as a detection on <paramref name="groundTruth"/>, or null.</summary>
    internal static string? Problem(CocoDetection detection, CocoDataset groundTruth)
    {
        var b = detection.Box;
        if (!groundTruth.ContainsImage(detection.ImageId))
            return $"image_id {detection.ImageId} is not an image of the ground truth {groundTruth.Path}";
        if (!groundTruth.Labels.Contains(detection.CategoryId))
            return $"category_id {detection.CategoryId} (image {detection.ImageId}) is not a category of the ground truth {groundTruth.Path}";
        if (!(double.IsFinite(b.X) && double.IsFinite(b.Y) && double.IsFinite(b.Width) && double.IsFinite(b.Height)) || b.Width < 0 || b.Height < 0)
            return $"bbox [{b.X}, {b.Y}, {b.Width}, {b.Height}] (image {detection.ImageId}) is not finite or has a negative size";
        return double.IsFinite(detection.Score) ? null : $"score {detection.Score} (image {detection.ImageId}) is not finite";
    }

    private static CocoDetection Detection(ref Utf8JsonReader r, string path, int index)
    {
        string where = $"detection {index}";
        long? image = null, category = null;
        CocoBox? box = null;
        double? score = null;
        CocoJson.Object(ref r, path, where, (ref Utf8JsonReader v, string name) =>
        {
            switch (name)
            {
                case "image_id": image = CocoJson.Int64(ref v, path, where, name); return true;
                case "category_id": category = CocoJson.Int64(ref v, path, where, name); return true;
                case "bbox": box = CocoJson.Box(ref v, path, where); return true;
                case "score": score = CocoJson.Number(ref v, path, where, name); return true;
                default: return false;
            }
        });
        return new CocoDetection(CocoJson.Required(image, path, where, "image_id"), CocoJson.Required(category, path, where, "category_id"),
            CocoJson.Required(box, path, where, "bbox"), CocoJson.Required(score, path, where, "score"));
    }

    /// <summary>Writes detections as a COCO results file, atomically; numbers are written so that they read back exactly.</summary>
    /// <exception cref="ArgumentException">A box or score is not finite (JSON cannot hold it).</exception>
    public static void Save(string path, IEnumerable<CocoDetection> detections) => AtomicFile.Write(path, stream =>
    {
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartArray();
        foreach (var d in detections)
        {
            w.WriteStartObject();
            w.WriteNumber("image_id", d.ImageId);
            w.WriteNumber("category_id", d.CategoryId);
            w.WriteStartArray("bbox");
            foreach (var v in (ReadOnlySpan<double>)[d.Box.X, d.Box.Y, d.Box.Width, d.Box.Height]) w.WriteNumberValue(Finite(v));
            w.WriteEndArray();
            w.WriteNumber("score", Finite(d.Score));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static double Finite(double value) =>
        double.IsFinite(value) ? value : throw new ArgumentException($"a detection holds {value}, which a COCO results file cannot hold");
}
