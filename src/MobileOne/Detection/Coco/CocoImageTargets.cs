namespace MobileOne.Detection.Coco;

/// <summary>
/// The objects of one image as a detector trains on them: boxes clipped to the image, in corner form,
/// with contiguous labels (see <see cref="CocoLabelMap"/>) and crowd flags, in the file's order.
/// </summary>
public sealed class CocoImageTargets
{
    internal CocoImageTargets(float[] boxes, long[] labels, bool[] isCrowd)
    {
        Boxes = boxes;
        Labels = labels;
        IsCrowd = isCrowd;
    }

    /// <summary>The number of objects, N.</summary>
    public int Count => Labels.Length;

    /// <summary>N x 4 values, row-major: x1, y1, x2, y2 in pixels, with 0 &lt;= x1 &lt; x2 &lt;= width and likewise for y.</summary>
    public float[] Boxes { get; }

    /// <summary>N labels in 1..K.</summary>
    public long[] Labels { get; }

    /// <summary>N flags: true for crowd regions, which a trainer usually leaves out.</summary>
    public bool[] IsCrowd { get; }
}
