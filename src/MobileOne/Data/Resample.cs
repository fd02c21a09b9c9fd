namespace MobileOne.Data;

/// <summary>
/// Separable image resampling with PIL's antialiased bilinear filter: a triangle of support 1 stretched
/// by the downscale factor, weights normalised per output pixel, then applied as PIL applies them to
/// 8-bit images (22-bit fixed point, rounded, clipped to 8 bits after each pass).
/// </summary>
public static class Resample
{
    /// <summary>Resizes to <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static RgbImage Bilinear(RgbImage image, int width, int height) =>
        BilinearWindow(image, width, height, 0, 0, width, height);

    /// <summary>
    /// The <paramref name="windowWidth"/> x <paramref name="windowHeight"/> window at (<paramref name="left"/>,
    /// <paramref name="top"/>) of the image resized to <paramref name="width"/> x <paramref name="height"/>:
    /// the same pixels as resizing, then cropping, but only the window and the source rows it draws from
    /// are computed. A resize-then-crop of a very thin image (10^6 x 1 to a 256-pixel shorter side) would
    /// otherwise need gigabytes for pixels the crop throws away.
    /// </summary>
    public static RgbImage BilinearWindow(RgbImage image, long width, long height, long left, long top, int windowWidth, int windowHeight)
    {
        if (width < 1 || height < 1) throw new MobileOneException($"cannot resize to {width}x{height}");
        if (windowWidth < 1 || windowHeight < 1 || left < 0 || top < 0 || left > width - windowWidth || top > height - windowHeight)
            throw new MobileOneException($"window {windowWidth}x{windowHeight} at ({left}, {top}) lies outside a {width}x{height} image");
        // PIL skips a pass whose size does not change; so does this, to stay bit-exact.
        var vertical = height == image.Height ? null : Coefficients.For(image.Height, height, top, windowHeight);
        int firstRow = vertical?.FirstSource ?? (int)top, rows = vertical?.SourceCount ?? windowHeight;
        var horizontal = width == image.Width
            ? Window(image, (int)left, firstRow, windowWidth, rows)
            : HorizontalPass(image, Coefficients.For(image.Width, width, left, windowWidth), firstRow, rows);
        return vertical is null ? horizontal : VerticalPass(horizontal, vertical);
    }

    /// <summary>Rows [firstRow, firstRow + rows) of the source, resampled to the coefficients' columns.</summary>
    private static RgbImage HorizontalPass(RgbImage src, Coefficients c, int firstRow, int rows)
    {
        int outW = c.Count;
        var dst = new byte[checked(outW * rows * 3)];
        for (int y = 0; y < rows; y++)
        {
            int rowBase = (firstRow + y) * src.Width;
            for (int x = 0; x < outW; x++)
                Accumulate(src.Pixels, c, x, rowBase * 3, 3, dst, (y * outW + x) * 3);
        }
        return new RgbImage(outW, rows, dst);
    }

    /// <summary>The coefficients' rows; row 0 of <paramref name="src"/> is source row <c>c.FirstSource</c>.</summary>
    private static RgbImage VerticalPass(RgbImage src, Coefficients c)
    {
        int outH = c.Count, w = src.Width, first = c.FirstSource;
        var dst = new byte[checked(w * outH * 3)];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < w; x++)
                Accumulate(src.Pixels, c, y, (x - first * w) * 3, w * 3, dst, (y * w + x) * 3);
        return new RgbImage(w, outH, dst);
    }

    /// <summary>Output pixel <paramref name="o"/> of a pass; source tap j is at <c>origin + j * step</c> in <paramref name="s"/>.</summary>
    private static void Accumulate(byte[] s, Coefficients c, int o, int origin, int step, byte[] dst, int d)
    {
        int start = c.Starts[o], n = c.Counts[o], wbase = o * c.Stride;
        int r = Half, g = Half, b = Half;
        for (int k = 0; k < n; k++)
        {
            int idx = origin + (start + k) * step;
            int wk = c.Weights[wbase + k];
            r += s[idx] * wk;
            g += s[idx + 1] * wk;
            b += s[idx + 2] * wk;
        }
        dst[d] = Clip(r);
        dst[d + 1] = Clip(g);
        dst[d + 2] = Clip(b);
    }

    // PIL's PRECISION_BITS for 8-bit images: 32 - 8 - 2.
    private const int PrecisionBits = 22;
    private const int Half = 1 << (PrecisionBits - 1);

    private static RgbImage Window(RgbImage src, int left, int top, int width, int height)
    {
        var dst = new byte[checked(width * height * 3)];
        for (int y = 0; y < height; y++)
            Array.Copy(src.Pixels, ((top + y) * src.Width + left) * 3, dst, y * width * 3, width * 3);
        return new RgbImage(width, height, dst);
    }

    private static byte Clip(int v) => v <= 0 ? (byte)0 : v >= 255 << PrecisionBits ? (byte)255 : (byte)(v >> PrecisionBits);

    /// <summary>
    /// Filter taps for the output pixels [first, first + Count) of a resize from inSize to outSize: per
    /// output pixel the first source pixel, the number of taps and their normalised weights.
    /// </summary>
    private sealed record Coefficients(int[] Starts, int[] Counts, int[] Weights, int Stride)
    {
        public int Count => Starts.Length;

        /// <summary>First source pixel any output pixel reads.</summary>
        public int FirstSource => Starts.Min();

        /// <summary>Number of source pixels from <see cref="FirstSource"/> to the last one read.</summary>
        public int SourceCount => Enumerable.Range(0, Count).Max(o => Starts[o] + Counts[o]) - FirstSource;

        public static Coefficients For(int inSize, long outSize, long first, int count)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = 1.0 * filterScale;
            int stride = (int)Math.Ceiling(support) * 2 + 1;
            var starts = new int[count];
            var counts = new int[count];
            var weights = new int[checked(count * stride)];
            var w = new double[stride];
            for (int i = 0; i < count; i++)
            {
                double center = (first + i + 0.5) * scale;
                int min = Math.Max((int)(center - support + 0.5), 0);
                int max = Math.Min((int)(center + support + 0.5), inSize);
                int n = Math.Min(max - min, stride);
                double total = 0;
                for (int k = 0; k < n; k++)
                {
                    double t = Math.Abs((k + min - center + 0.5) / filterScale);
                    w[k] = t < 1 ? 1 - t : 0;
                    total += w[k];
                }
                // Normalised in double, then rounded to fixed point, as PIL does (the triangle is never negative).
                for (int k = 0; k < n; k++)
                    weights[i * stride + k] = (int)(0.5 + (total != 0 ? w[k] / total : w[k]) * (1 << PrecisionBits));
                starts[i] = min;
                counts[i] = Math.Max(n, 0);
            }
            return new Coefficients(starts, counts, weights, stride);
        }
    }
}
