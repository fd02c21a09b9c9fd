using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// SSD's default boxes (Liu et al. 2016, section 2.2), as torchvision's <c>DefaultBoxGenerator</c> lays them
/// out: per feature map k a scale s_k spaced linearly from the minimum to the maximum ratio, two square boxes
/// (s_k and sqrt(s_k s_k+1)) and, for each aspect ratio r, a w x h = s_k sqrt(r) x s_k / sqrt(r) box and its
/// transpose, centred on every cell; widths and heights clipped to [0, 1] of the image. Computed in float32
/// in torchvision's order of operations, so the anchors equal its own bit for bit.
/// </summary>
public sealed class DefaultBoxGenerator
{
    private readonly int[][] aspectRatios;
    private readonly double[] scales;

    /// <summary>Creates the generator for <paramref name="aspectRatios"/>.Count feature maps.</summary>
    public DefaultBoxGenerator(IEnumerable<IEnumerable<int>> aspectRatios, double minRatio = 0.15, double maxRatio = 0.9)
    {
        this.aspectRatios = aspectRatios.Select(r => r.ToArray()).ToArray();
        int maps = this.aspectRatios.Length;
        if (maps == 0) throw new MobileOneException("default boxes need at least one feature map");
        scales = maps > 1
            ? Enumerable.Range(0, maps).Select(k => minRatio + (maxRatio - minRatio) * k / (maps - 1.0)).Append(1.0).ToArray()
            : [minRatio, maxRatio];
    }

    /// <summary>SSDLite's generator: aspect ratios 2 and 3 on six maps, scales 0.2 to 0.95 (3,234 boxes at 320x320).</summary>
    public static DefaultBoxGenerator SsdLite() => new(Enumerable.Repeat(new[] { 2, 3 }, 6), 0.2, 0.95);

    /// <summary>The number of feature maps.</summary>
    public int Maps => aspectRatios.Length;

    /// <summary>The scale of each map, then 1.0 (the extra scale that the last map's second square box uses).</summary>
    public IReadOnlyList<double> Scales => scales;

    /// <summary>Boxes per cell of each map: 2 + 2 x (aspect ratios).</summary>
    public IReadOnlyList<int> AnchorsPerLocation => aspectRatios.Select(r => 2 + 2 * r.Length).ToArray();

    // The (w, h) pairs of map k, relative to the image, before clipping.
    private float[] WidthHeightPairs(int k)
    {
        double sk = scales[k], sPrime = Math.Sqrt(scales[k] * scales[k + 1]);
        var pairs = new List<float> { (float)sk, (float)sk, (float)sPrime, (float)sPrime };
        foreach (int ar in aspectRatios[k])
        {
            double root = Math.Sqrt(ar);
            float w = (float)(sk * root), h = (float)(sk / root);
            pairs.AddRange([w, h, h, w]);
        }
        return pairs.Select(v => Math.Clamp(v, 0f, 1f)).ToArray();
    }

    /// <summary>
    /// The boxes for feature maps of the given (height, width) grids on an image of
    /// <paramref name="imageHeight"/> x <paramref name="imageWidth"/>: x1, y1, x2, y2 in pixels, four floats a box,
    /// ordered by map, then row, then column, then box, as the heads order their outputs.
    /// </summary>
    public float[] Generate(IReadOnlyList<(int Height, int Width)> grids, int imageHeight, int imageWidth)
    {
        if (grids.Count != Maps) throw new MobileOneException($"the default boxes are laid out for {Maps} feature maps, found {grids.Count}");
        var boxes = new List<float>();
        for (int k = 0; k < Maps; k++)
        {
            var (gh, gw) = grids[k];
            var wh = WidthHeightPairs(k);
            for (int y = 0; y < gh; y++)
                for (int x = 0; x < gw; x++)
                {
                    float cx = (x + 0.5f) / gw, cy = (y + 0.5f) / gh;
                    for (int p = 0; p < wh.Length; p += 2)
                        boxes.AddRange([(cx - 0.5f * wh[p]) * imageWidth, (cy - 0.5f * wh[p + 1]) * imageHeight,
                            (cx + 0.5f * wh[p]) * imageWidth, (cy + 0.5f * wh[p + 1]) * imageHeight]);
                }
        }
        return boxes.ToArray();
    }

    /// <summary>As <see cref="Generate"/>, as an [A, 4] float32 tensor.</summary>
    public Tensor GenerateTensor(IReadOnlyList<(int Height, int Width)> grids, int imageHeight, int imageWidth)
    {
        var boxes = Generate(grids, imageHeight, imageWidth);
        return tensor(boxes, [boxes.Length / 4, 4]);
    }
}
