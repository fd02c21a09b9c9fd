namespace MobileOne.Data;

/// <summary>
/// Separable image resampling with PIL's antialiased bilinear filter: a triangle of support 1 stretched
/// by the downscale factor, weights normalised per output pixel, rounded to 8 bits after each pass.
/// </summary>
public static class Resample
{
    /// <summary>Resizes to <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static RgbImage Bilinear(RgbImage image, int width, int height)
    {
        if (width < 1 || height < 1) throw new MobileOneException($"cannot resize to {width}x{height}");
        var horizontal = width == image.Width ? image : Pass(image, width, horizontalPass: true);
        return height == image.Height ? horizontal : Pass(horizontal, height, horizontalPass: false);
    }

    private static RgbImage Pass(RgbImage src, int outSize, bool horizontalPass)
    {
        int inSize = horizontalPass ? src.Width : src.Height;
        var (starts, counts, weights, stride) = Coefficients(inSize, outSize);
        int outW = horizontalPass ? outSize : src.Width, outH = horizontalPass ? src.Height : outSize;
        var dst = new byte[outW * outH * 3];
        var s = src.Pixels;
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                int o = horizontalPass ? x : y;
                int start = starts[o], n = counts[o], wbase = o * stride;
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < n; k++)
                {
                    int idx = horizontalPass ? (y * src.Width + start + k) * 3 : ((start + k) * src.Width + x) * 3;
                    double wk = weights[wbase + k];
                    r += s[idx] * wk;
                    g += s[idx + 1] * wk;
                    b += s[idx + 2] * wk;
                }
                int d = (y * outW + x) * 3;
                dst[d] = Clip(r);
                dst[d + 1] = Clip(g);
                dst[d + 2] = Clip(b);
            }
        }
        return new RgbImage(outW, outH, dst);
    }

    private static byte Clip(double v) => (byte)Math.Clamp((int)Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);

    private static (int[] Starts, int[] Counts, double[] Weights, int Stride) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 1.0 * filterScale;
        int stride = (int)Math.Ceiling(support) * 2 + 1;
        var starts = new int[outSize];
        var counts = new int[outSize];
        var weights = new double[outSize * stride];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize);
            int n = Math.Min(max - min, stride);
            double total = 0;
            for (int k = 0; k < n; k++)
            {
                double t = Math.Abs((k + min - center + 0.5) / filterScale);
                double w = t < 1 ? 1 - t : 0;
                weights[o * stride + k] = w;
                total += w;
            }
            if (total > 0)
                for (int k = 0; k < n; k++) weights[o * stride + k] /= total;
            starts[o] = min;
            counts[o] = n;
        }
        return (starts, counts, weights, stride);
    }
}
