namespace MobileOne.Data.Mosaic;

/// <summary>
/// Procedural textures behind the items: a field in [0, 1] (a linear gradient, stripes, smooth value noise,
/// or stripes mixed with noise) maps between two colours of one lightness band (dark or light, so that items
/// drawn in the other band stand out). Smooth fields keep the PNGs small: per-pixel grain would quadruple them.
/// </summary>
public static class MosaicBackground
{
    /// <summary>A <paramref name="size"/> x <paramref name="size"/> texture drawn from <paramref name="rng"/>.</summary>
    /// <param name="size">The side in pixels.</param>
    /// <param name="rng">The source of every choice.</param>
    /// <param name="dark">Whether the texture's colours are dark (items then light) or light.</param>
    public static RgbImage Draw(int size, Random rng, bool dark)
    {
        var field = rng.Next(4) switch
        {
            0 => Gradient(size, rng),
            1 => Stripes(size, rng),
            2 => ValueNoise(size, rng),
            _ => Mix(Stripes(size, rng), ValueNoise(size, rng)),
        };
        var (a, b) = (Colour(rng, dark), Colour(rng, dark));
        var pixels = new byte[size * size * 3];
        for (int p = 0; p < field.Length; p++)
        {
            float t = field[p];
            pixels[3 * p] = Blend(a.R, b.R, t);
            pixels[3 * p + 1] = Blend(a.G, b.G, t);
            pixels[3 * p + 2] = Blend(a.B, b.B, t);
        }
        return new RgbImage(size, size, pixels);
    }

    private static byte Blend(byte a, byte b, float t) => (byte)(a + t * (b - a) + 0.5f);

    // A random hue at moderate saturation, its value within the band.
    private static Rgb Colour(Random rng, bool dark)
    {
        double value = dark ? 30 + 80 * rng.NextDouble() : 150 + 85 * rng.NextDouble();
        var (r, g, b) = ImageOps.FromHsv(rng.NextDouble(), 0.15 + 0.6 * rng.NextDouble(), value);
        return new Rgb(r, g, b);
    }

    // The position along a random direction, per pixel, rescaled to [0, 1].
    private static float[] Gradient(int size, Random rng)
    {
        double angle = rng.NextDouble() * Math.PI;
        float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
        // Over the image, x c + y s runs from min(0, (size - 1) c) to (size - 1) (|c| + s) + that (s >= 0 as angle <= pi).
        float min = Math.Min(0, (size - 1) * c), range = Math.Max((size - 1) * (Math.Abs(c) + s), 1e-6f);
        var field = new float[size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) field[y * size + x] = (x * c + y * s - min) / range;
        return field;
    }

    // 0.5 + 0.5 sin(k (x c + y s) + phase), 2 to 16 periods per side, from one sine per column and one per row:
    // sin(u + v) = sin u cos v + cos u sin v.
    private static float[] Stripes(int size, Random rng)
    {
        double angle = rng.NextDouble() * Math.PI, k = 2 * Math.PI * (2 + 14 * rng.NextDouble()) / size, phase = 2 * Math.PI * rng.NextDouble();
        var (sinX, cosX, sinY, cosY) = (new float[size], new float[size], new float[size], new float[size]);
        for (int i = 0; i < size; i++)
        {
            double u = k * i * Math.Cos(angle), v = k * i * Math.Sin(angle) + phase;
            (sinX[i], cosX[i], sinY[i], cosY[i]) = ((float)Math.Sin(u), (float)Math.Cos(u), (float)Math.Sin(v), (float)Math.Cos(v));
        }
        var field = new float[size * size];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) field[y * size + x] = 0.5f + 0.5f * (sinX[x] * cosY[y] + cosX[x] * sinY[y]);
        return field;
    }

    // Random values on a lattice of cells 1/12 to 1/3 of the side, interpolated with a smoothstep.
    private static float[] ValueNoise(int size, Random rng)
    {
        int cell = Math.Max(2, (int)(size * (1.0 / 12 + (1.0 / 3 - 1.0 / 12) * rng.NextDouble())));
        int n = size / cell + 2;
        var lattice = new float[n * n];
        for (int i = 0; i < lattice.Length; i++) lattice[i] = (float)rng.NextDouble();
        var field = new float[size * size];
        for (int y = 0; y < size; y++)
        {
            int gy = y / cell;
            float fy = Smooth((y % cell) / (float)cell);
            for (int x = 0; x < size; x++)
            {
                int gx = x / cell;
                float fx = Smooth((x % cell) / (float)cell);
                float top = Lerp(lattice[gy * n + gx], lattice[gy * n + gx + 1], fx);
                float bottom = Lerp(lattice[(gy + 1) * n + gx], lattice[(gy + 1) * n + gx + 1], fx);
                field[y * size + x] = Lerp(top, bottom, fy);
            }
        }
        return field;
    }

    private static float[] Mix(float[] a, float[] b)
    {
        for (int i = 0; i < a.Length; i++) a[i] = 0.5f * (a[i] + b[i]);
        return a;
    }

    private static float Smooth(float t) => t * t * (3 - 2 * t);

    private static float Lerp(float a, float b, float t) => a + t * (b - a);
}
