namespace MobileOne.Data.Mosaic;

/// <summary>
/// Draws one mosaic image: a <see cref="MosaicBackground"/>, then items cut from a gray data set (Fashion-MNIST):
/// each scaled to a longer side drawn log-uniformly between the options' bounds (so small, medium and large
/// objects in COCO's sense all occur), mirrored half the time, tinted with a random hue in the lightness band
/// opposite the background's, and placed at a random spot where it leaves every earlier item at least
/// <see cref="MinVisibleFraction"/> of its pixels. An item's pixels are those where its scaled gray image
/// exceeds <see cref="Threshold"/>; only those are painted.
/// </summary>
public static class MosaicComposer
{
    /// <summary>The gray level (of 255) above which a scaled source pixel belongs to the item.</summary>
    public const byte Threshold = 24;

    /// <summary>The share of its own pixels that later items must leave visible of an earlier one.</summary>
    public const double MinVisibleFraction = 0.6;

    private const int PlacementTrials = 30, SourceTrials = 10;

    private sealed record Sprite(int Width, int Height, byte[] Gray, int Category, int Pixels);

    /// <summary>The scene drawn from <paramref name="rng"/> with items from <paramref name="source"/>.</summary>
    public static MosaicScene Compose(IdxFolder source, MosaicOptions options, Random rng)
    {
        int size = options.Size;
        bool dark = rng.Next(2) == 0;
        var image = MosaicBackground.Draw(size, rng, dark);
        var owners = new byte[size * size];
        var full = new List<int>();
        var visible = new List<int>();
        var categories = new List<int>();
        int count = rng.Next(options.MinItems, options.MaxItems + 1);
        for (int k = 0; k < count; k++)
        {
            if (DrawSprite(source, options, rng) is not { } sprite) continue;
            if (FindPlace(sprite, owners, size, full, visible, rng) is not { } place) continue;
            Paint(sprite, image, owners, place.Left, place.Top, checked((byte)(full.Count + 1)), Tint(rng, dark), visible);
            full.Add(sprite.Pixels);
            visible.Add(sprite.Pixels);
            categories.Add(sprite.Category);
        }
        return new MosaicScene(image, owners, VisibleItems(owners, size, categories));
    }

    // A random source image, cropped to its item, scaled and perhaps mirrored; null when the draws find no item pixels.
    private static Sprite? DrawSprite(IdxFolder source, MosaicOptions options, Random rng)
    {
        for (int trial = 0; trial < SourceTrials; trial++)
        {
            int index = rng.Next(source.Count);
            var (left, top, w, h) = TightBox(source.GrayPixels(index), source.Width, source.Height);
            if (w == 0) continue;
            double logMin = Math.Log(options.MinItemSide), logMax = Math.Log(options.EffectiveMaxItemSide);
            double longSide = Math.Exp(logMin + (logMax - logMin) * rng.NextDouble()), scale = longSide / Math.Max(w, h);
            int sw = Math.Max(1, (int)Math.Round(w * scale)), sh = Math.Max(1, (int)Math.Round(h * scale));
            var gray = Scale(source.GrayPixels(index), source.Width, left, top, w, h, sw, sh);
            if (rng.Next(2) == 0) gray = Mirror(gray, sw);
            int pixels = gray.Count(g => g > Threshold);
            if (pixels > 0) return new Sprite(sw, sh, gray, source.Label(index) + 1, pixels);
        }
        return null;
    }

    private static (int Left, int Top, int Width, int Height) TightBox(ReadOnlySpan<byte> gray, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                if (gray[y * width + x] > Threshold) (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
        return x1 < 0 ? (0, 0, 0, 0) : (x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }

    // PIL's bilinear resize of the crop (through the RGB resampler, one channel kept).
    private static byte[] Scale(ReadOnlySpan<byte> gray, int stride, int left, int top, int w, int h, int sw, int sh)
    {
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                rgb[3 * (y * w + x)] = rgb[3 * (y * w + x) + 1] = rgb[3 * (y * w + x) + 2] = gray[(top + y) * stride + left + x];
        var scaled = Resample.Bilinear(new RgbImage(w, h, rgb), sw, sh).Pixels;
        var result = new byte[sw * sh];
        for (int i = 0; i < result.Length; i++) result[i] = scaled[3 * i];
        return result;
    }

    private static byte[] Mirror(byte[] gray, int width)
    {
        var result = new byte[gray.Length];
        for (int i = 0; i < gray.Length; i++) result[i] = gray[i - i % width + width - 1 - i % width];
        return result;
    }

    // A random top-left corner where the sprite lies inside the image and leaves every earlier item enough of its pixels.
    private static (int Left, int Top)? FindPlace(Sprite s, byte[] owners, int size, List<int> full, List<int> visible, Random rng)
    {
        var covered = new int[full.Count + 1];
        for (int trial = 0; trial < PlacementTrials; trial++)
        {
            int left = rng.Next(size - s.Width + 1), top = rng.Next(size - s.Height + 1);
            Array.Clear(covered);
            for (int y = 0; y < s.Height; y++)
                for (int x = 0; x < s.Width; x++)
                    if (s.Gray[y * s.Width + x] > Threshold) covered[owners[(top + y) * size + left + x]]++;
            bool fits = true;
            for (int j = 0; j < full.Count && fits; j++) fits = visible[j] - covered[j + 1] >= MinVisibleFraction * full[j];
            if (fits) return (left, top);
        }
        return null;
    }

    // The item's two shades: its gray levels map from the darker to the lighter, in the band opposite the background's.
    private static (Rgb Dark, Rgb Light) Tint(Random rng, bool darkBackground)
    {
        double hue = rng.NextDouble(), saturation = 0.35 + 0.65 * rng.NextDouble();
        double lo = darkBackground ? 140 + 40 * rng.NextDouble() : 20 + 30 * rng.NextDouble();
        double hi = darkBackground ? 235 + 20 * rng.NextDouble() : 110 + 40 * rng.NextDouble();
        var (r0, g0, b0) = ImageOps.FromHsv(hue, saturation, lo);
        var (r1, g1, b1) = ImageOps.FromHsv(hue, saturation, hi);
        return (new Rgb(r0, g0, b0), new Rgb(r1, g1, b1));
    }

    private static void Paint(Sprite s, RgbImage image, byte[] owners, int left, int top, byte owner, (Rgb Dark, Rgb Light) tint, List<int> visible)
    {
        int size = image.Width;
        for (int y = 0; y < s.Height; y++)
            for (int x = 0; x < s.Width; x++)
            {
                int g = s.Gray[y * s.Width + x];
                if (g <= Threshold) continue;
                int p = (top + y) * size + left + x;
                if (owners[p] != 0) visible[owners[p] - 1]--;
                owners[p] = owner;
                float t = (g - Threshold) / (255f - Threshold);
                image.Pixels[3 * p] = Shade(tint.Dark.R, tint.Light.R, t);
                image.Pixels[3 * p + 1] = Shade(tint.Dark.G, tint.Light.G, t);
                image.Pixels[3 * p + 2] = Shade(tint.Dark.B, tint.Light.B, t);
            }
    }

    private static byte Shade(byte a, byte b, float t) => (byte)(a + t * (b - a) + 0.5f);

    private static List<MosaicItem> VisibleItems(byte[] owners, int size, List<int> categories)
    {
        int n = categories.Count;
        var (x0, y0, x1, y1, area) = (new int[n], new int[n], new int[n], new int[n], new int[n]);
        Array.Fill(x0, size);
        Array.Fill(y0, size);
        Array.Fill(x1, -1);
        Array.Fill(y1, -1);
        for (int p = 0; p < owners.Length; p++)
        {
            if (owners[p] == 0) continue;
            int k = owners[p] - 1, x = p % size, y = p / size;
            (x0[k], y0[k], x1[k], y1[k]) = (Math.Min(x0[k], x), Math.Min(y0[k], y), Math.Max(x1[k], x), Math.Max(y1[k], y));
            area[k]++;
        }
        return Enumerable.Range(0, n).Select(k => new MosaicItem(categories[k], x0[k], y0[k], x1[k] - x0[k] + 1, y1[k] - y0[k] + 1, area[k])).ToList();
    }
}
