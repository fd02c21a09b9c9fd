using System.Text.Json;

namespace MobileOne.Tests;

/// <summary>Writes small COCO annotation and results files for tests.</summary>
internal static class CocoFiles
{
    public sealed record Image(long Id, int Width = 640, int Height = 480, string? FileName = null);

    public sealed record Truth(long Id, long ImageId, long CategoryId, double[] Box, double? Area = null, bool Crowd = false);

    public sealed record Found(long ImageId, long CategoryId, double[] Box, double Score);

    public static string GroundTruth(string path, IEnumerable<Image> images, IEnumerable<long> categories, IEnumerable<Truth> objects)
    {
        var json = new Dictionary<string, object>
        {
            ["info"] = new { description = "test" },
            ["images"] = images.Select(i => new { id = i.Id, file_name = i.FileName ?? $"{i.Id}.png", width = i.Width, height = i.Height }),
            ["categories"] = categories.Select(c => new { id = c, name = $"category {c}", supercategory = "thing" }),
            ["annotations"] = objects.Select(o => new Dictionary<string, object>
            {
                ["id"] = o.Id, ["image_id"] = o.ImageId, ["category_id"] = o.CategoryId, ["bbox"] = o.Box,
                ["area"] = o.Area ?? o.Box[2] * o.Box[3], ["iscrowd"] = o.Crowd ? 1 : 0,
                // Crowds carry RLE, others polygons, as in COCO; the box metric must read past both.
                ["segmentation"] = o.Crowd ? new { counts = new[] { 5, 10, 5 }, size = new[] { 20, 20 } } : new[] { new[] { o.Box[0], o.Box[1], o.Box[0] + o.Box[2], o.Box[1] } },
            }),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    public static string Results(string path, IEnumerable<Found> detections)
    {
        File.WriteAllText(path, JsonSerializer.Serialize(detections.Select(d => new { image_id = d.ImageId, category_id = d.CategoryId, bbox = d.Box, score = d.Score })));
        return path;
    }
}
