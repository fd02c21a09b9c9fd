using System.Globalization;
using System.Text.Json;

namespace MobileOne.Detection.Evaluation;

/// <summary>
/// The twelve statistics of COCO's box evaluation, in pycocotools' order. Each is a mean over categories
/// (and IoU thresholds, and recall points for AP) of the entries that are defined; -1 when none is
/// (e.g. APs when no ground truth is small).
/// </summary>
/// <param name="AP">Average precision at IoU .50:.05:.95, all sizes, 100 detections per image: COCO's mAP.</param>
/// <param name="AP50">Average precision at IoU .50 (PASCAL VOC's metric).</param>
/// <param name="AP75">Average precision at IoU .75.</param>
/// <param name="APs">Average precision on small objects (area below 32^2).</param>
/// <param name="APm">Average precision on medium objects (area 32^2 to 96^2).</param>
/// <param name="APl">Average precision on large objects (area above 96^2).</param>
/// <param name="AR1">Average recall with 1 detection per image and category.</param>
/// <param name="AR10">Average recall with 10 detections.</param>
/// <param name="AR100">Average recall with 100 detections.</param>
/// <param name="ARs">Average recall on small objects, 100 detections.</param>
/// <param name="ARm">Average recall on medium objects.</param>
/// <param name="ARl">Average recall on large objects.</param>
public sealed record CocoStats(double AP, double AP50, double AP75, double APs, double APm, double APl,
                               double AR1, double AR10, double AR100, double ARs, double ARm, double ARl)
{
    /// <summary>What each statistic averages: precision or recall, at one IoU threshold or all, over a size band, at a detection budget.</summary>
    internal sealed record Definition(string Name, bool Precision, double? Iou, int Area, int MaxDetections);

    /// <summary>The twelve statistics, in order.</summary>
    internal static readonly Definition[] Definitions =
    [
        new("AP", true, null, 0, 100),
        new("AP50", true, 0.5, 0, 100),
        new("AP75", true, 0.75, 0, 100),
        new("APs", true, null, 1, 100),
        new("APm", true, null, 2, 100),
        new("APl", true, null, 3, 100),
        new("AR1", false, null, 0, 1),
        new("AR10", false, null, 0, 10),
        new("AR100", false, null, 0, 100),
        new("ARs", false, null, 1, 100),
        new("ARm", false, null, 2, 100),
        new("ARl", false, null, 3, 100),
    ];

    /// <summary>The names of the statistics, in order: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.</summary>
    public static IReadOnlyList<string> Names { get; } = Definitions.Select(d => d.Name).ToArray();

    /// <summary>The values, in the order of <see cref="Names"/>.</summary>
    public IReadOnlyList<double> Values => [AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl];

    internal static CocoStats FromValues(IReadOnlyList<double> v) => new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]);

    /// <summary>One JSON object whose members are <see cref="Names"/>, with values that read back exactly.</summary>
    public string ToJson(bool indented = false)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            foreach (var (name, value) in Names.Zip(Values)) w.WriteNumber(name, value);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The statistics as lines in the layout of pycocotools' summary, one per statistic, with three decimals.</summary>
    public IReadOnlyList<string> SummaryLines()
    {
        var iou = CocoEvalParameters.IouThresholds;
        return Definitions.Zip(Values, (d, value) => string.Format(CultureInfo.InvariantCulture,
            " {0,-18} {1} @[ IoU={2,-9} | area={3,6} | maxDets={4,3} ] = {5:0.000}",
            d.Precision ? "Average Precision" : "Average Recall", d.Precision ? "(AP)" : "(AR)",
            d.Iou is { } t ? t.ToString("0.00", CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{iou[0]:0.00}:{iou[^1]:0.00}"),
            CocoEvalParameters.AreaRanges[d.Area].Name, d.MaxDetections, value)).ToList();
    }
}
