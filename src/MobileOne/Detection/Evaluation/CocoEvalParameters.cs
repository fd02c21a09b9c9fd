namespace MobileOne.Detection.Evaluation;

/// <summary>
/// The fixed settings of COCO's box evaluation, built as pycocotools builds them so that every
/// threshold is the same double: a threshold that differs in its last bit moves a searchsorted index.
/// </summary>
internal static class CocoEvalParameters
{
    /// <summary>The ten IoU thresholds .50:.05:.95.</summary>
    public static readonly double[] IouThresholds = Linspace(0.5, 0.95, 10);

    /// <summary>The 101 recall points 0:.01:1.</summary>
    public static readonly double[] RecallThresholds = Linspace(0.0, 1.0, 101);

    /// <summary>The size bands all, small, medium and large, on an object's area (inclusive at both ends).</summary>
    public static readonly (string Name, double Min, double Max)[] AreaRanges =
    [
        ("all", 0, 1e10),
        ("small", 0, 32 * 32),
        ("medium", 32 * 32, 96 * 96),
        ("large", 96 * 96, 1e10),
    ];

    /// <summary>The detections kept per image and category, ascending; the last bounds the matching.</summary>
    public static readonly int[] MaxDetections = [1, 10, 100];

    /// <summary>
    /// numpy's <c>linspace(start, stop, num)</c>: <c>start + i * step</c> with <c>step = (stop - start) / (num - 1)</c>,
    /// and the last point set to <paramref name="stop"/>. (Not <c>start + i * 0.05</c>, which differs in the last bit.)
    /// </summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        double step = (stop - start) / (num - 1);
        var values = new double[num];
        for (int i = 0; i < num; i++) values[i] = i * step + start;
        values[^1] = stop;
        return values;
    }
}
