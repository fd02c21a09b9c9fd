namespace MobileOne.Data;

/// <summary>
/// The image operations of AutoAugment and RandAugment on 8-bit RGB images, following PIL's
/// definitions (ImageOps and ImageEnhance) as torchvision applies them. Geometric ops use nearest
/// neighbour sampling with black fill, as torchvision's defaults do.
/// </summary>
public static class ImageOps
{
    /// <summary>Mirror left-right.</summary>
    public static RgbImage FlipHorizontal(RgbImage img)
    {
        var dst = new byte[img.Pixels.Length];
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
                Array.Copy(img.Pixels, (y * img.Width + x) * 3, dst, (y * img.Width + img.Width - 1 - x) * 3, 3);
        return img with { Pixels = dst };
    }

    /// <summary>
    /// The images laid out in rows, each row's images side by side, on white; every cell as large as the largest image.
    /// </summary>
    public static RgbImage Grid(IReadOnlyList<IReadOnlyList<RgbImage>> rows)
    {
        var all = rows.SelectMany(r => r).ToList();
        if (all.Count == 0) throw new MobileOneException("a grid of no images");
        int cellW = all.Max(i => i.Width), cellH = all.Max(i => i.Height), columns = rows.Max(r => r.Count);
        int width = checked(cellW * columns), height = checked(cellH * rows.Count);
        var pixels = new byte[checked(width * height * 3)];
        Array.Fill(pixels, (byte)255);
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < rows[r].Count; c++)
            {
                var img = rows[r][c];
                for (int y = 0; y < img.Height; y++)
                    Array.Copy(img.Pixels, y * img.Width * 3, pixels, ((r * cellH + y) * width + c * cellW) * 3, img.Width * 3);
            }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Crops the box [left, left + width) x [top, top + height).</summary>
    public static RgbImage Crop(RgbImage img, int left, int top, int width, int height)
    {
        var dst = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            Array.Copy(img.Pixels, ((top + y) * img.Width + left) * 3, dst, y * width * 3, width * 3);
        return new RgbImage(width, height, dst);
    }

    /// <summary>
    /// PIL's affine transform: output pixel (x, y) takes the input pixel nearest to
    /// (a x + b y + c, d x + e y + f); outside the image is black.
    /// </summary>
    public static RgbImage Affine(RgbImage img, double a, double b, double c, double d, double e, double f)
    {
        var dst = new byte[img.Pixels.Length];
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
            {
                double px = x + 0.5, py = y + 0.5;
                int sx = (int)Math.Floor(a * px + b * py + c), sy = (int)Math.Floor(d * px + e * py + f);
                if (sx < 0 || sy < 0 || sx >= img.Width || sy >= img.Height) continue;
                Array.Copy(img.Pixels, (sy * img.Width + sx) * 3, dst, (y * img.Width + x) * 3, 3);
            }
        return img with { Pixels = dst };
    }

    /// <summary>Shear along x by <paramref name="s"/> (x' = x + s y).</summary>
    public static RgbImage ShearX(RgbImage img, double s) => Affine(img, 1, s, 0, 0, 1, 0);

    /// <summary>Shear along y by <paramref name="s"/>.</summary>
    public static RgbImage ShearY(RgbImage img, double s) => Affine(img, 1, 0, 0, s, 1, 0);

    /// <summary>Translate by (<paramref name="dx"/>, <paramref name="dy"/>) pixels.</summary>
    public static RgbImage Translate(RgbImage img, double dx, double dy) => Affine(img, 1, 0, -dx, 0, 1, -dy);

    /// <summary>Rotate by <paramref name="degrees"/> about the centre.</summary>
    public static RgbImage Rotate(RgbImage img, double degrees)
    {
        double t = degrees * Math.PI / 180, cos = Math.Cos(t), sin = Math.Sin(t);
        double cx = img.Width / 2.0, cy = img.Height / 2.0;
        // Inverse rotation about the centre.
        return Affine(img, cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy);
    }

    /// <summary>Applies <paramref name="map"/> to every byte.</summary>
    public static RgbImage Map(RgbImage img, Func<int, int> map)
    {
        var lut = new byte[256];
        for (int i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp(map(i), 0, 255);
        var dst = new byte[img.Pixels.Length];
        for (int i = 0; i < dst.Length; i++) dst[i] = lut[img.Pixels[i]];
        return img with { Pixels = dst };
    }

    /// <summary>Inverts every channel.</summary>
    public static RgbImage Invert(RgbImage img) => Map(img, v => 255 - v);

    /// <summary>Keeps the top <paramref name="bits"/> bits of each channel.</summary>
    public static RgbImage Posterize(RgbImage img, int bits) => Map(img, v => v & (0xFF << (8 - Math.Clamp(bits, 1, 8)) & 0xFF));

    /// <summary>Inverts the values at or above <paramref name="threshold"/>.</summary>
    public static RgbImage Solarize(RgbImage img, int threshold) => Map(img, v => v >= threshold ? 255 - v : v);

    /// <summary>Per channel, stretches [min, max] to [0, 255].</summary>
    public static RgbImage AutoContrast(RgbImage img) => PerChannel(img, (hist, lut) =>
    {
        int lo = Array.FindIndex(hist, h => h > 0), hi = Array.FindLastIndex(hist, h => h > 0);
        for (int v = 0; v < 256; v++) lut[v] = hi <= lo ? (byte)v : (byte)Math.Clamp((int)((v - lo) * 255.0 / (hi - lo)), 0, 255);
    });

    /// <summary>Per channel histogram equalisation (PIL's algorithm).</summary>
    public static RgbImage Equalize(RgbImage img) => PerChannel(img, (hist, lut) =>
    {
        int last = Array.FindLastIndex(hist, h => h > 0);
        int step = last < 0 ? 0 : (hist.Sum() - hist[last]) / 255;
        for (int v = 0; v < 256; v++) lut[v] = (byte)v;
        if (step == 0) return;
        int n = step / 2;
        for (int v = 0; v < 256; v++)
        {
            lut[v] = (byte)Math.Min(255, n / step);
            n += hist[v];
        }
    });

    private static RgbImage PerChannel(RgbImage img, Action<int[], byte[]> build)
    {
        var dst = new byte[img.Pixels.Length];
        for (int c = 0; c < 3; c++)
        {
            var hist = new int[256];
            for (int i = c; i < dst.Length; i += 3) hist[img.Pixels[i]]++;
            var lut = new byte[256];
            build(hist, lut);
            for (int i = c; i < dst.Length; i += 3) dst[i] = lut[img.Pixels[i]];
        }
        return img with { Pixels = dst };
    }

    /// <summary>PIL's ImageEnhance: blend between a degenerate image and the image by <paramref name="factor"/> (1 = unchanged).</summary>
    public static RgbImage Blend(RgbImage img, byte[] degenerate, double factor)
    {
        var dst = new byte[img.Pixels.Length];
        for (int i = 0; i < dst.Length; i++)
            dst[i] = (byte)Math.Clamp((int)Math.Round(degenerate[i] + factor * (img.Pixels[i] - degenerate[i])), 0, 255);
        return img with { Pixels = dst };
    }

    /// <summary>Brightness: blend with black.</summary>
    public static RgbImage Brightness(RgbImage img, double factor) => Blend(img, new byte[img.Pixels.Length], factor);

    /// <summary>Colour (saturation): blend with the grayscale image.</summary>
    public static RgbImage Color(RgbImage img, double factor) => Blend(img, Gray(img), factor);

    /// <summary>Contrast: blend with the mean gray level.</summary>
    public static RgbImage Contrast(RgbImage img, double factor)
    {
        var gray = Gray(img);
        double mean = 0;
        for (int i = 0; i < gray.Length; i += 3) mean += gray[i];
        var level = (byte)(int)(mean / (gray.Length / 3) + 0.5);
        return Blend(img, Enumerable.Repeat(level, img.Pixels.Length).ToArray(), factor);
    }

    /// <summary>Sharpness: blend with PIL's SMOOTH-filtered image (borders kept).</summary>
    public static RgbImage Sharpness(RgbImage img, double factor)
    {
        var smooth = (byte[])img.Pixels.Clone();
        int w = img.Width, h = img.Height;
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++)
                            sum += img.Pixels[((y + dy) * w + x + dx) * 3 + c] * (dx == 0 && dy == 0 ? 5 : 1);
                    smooth[(y * w + x) * 3 + c] = (byte)((sum + 6) / 13);
                }
        return Blend(img, smooth, factor);
    }

    /// <summary>
    /// Rotates every pixel's hue by <paramref name="shift"/> turns (torchvision's adjust_hue: -0.5 to 0.5),
    /// keeping its saturation and value (HSV).
    /// </summary>
    public static RgbImage Hue(RgbImage img, double shift)
    {
        var dst = new byte[img.Pixels.Length];
        for (int i = 0; i < dst.Length; i += 3)
        {
            var (h, s, v) = ToHsv(img.Pixels[i], img.Pixels[i + 1], img.Pixels[i + 2]);
            h = (h + shift) % 1.0;
            (dst[i], dst[i + 1], dst[i + 2]) = FromHsv(h < 0 ? h + 1 : h, s, v);
        }
        return img with { Pixels = dst };
    }

    /// <summary>Hue in [0, 1), saturation in [0, 1] and value in [0, 255] of an 8-bit colour.</summary>
    public static (double H, double S, double V) ToHsv(byte r, byte g, byte b)
    {
        int max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b)), range = max - min;
        if (range == 0) return (0, 0, max);
        double h = max == r ? (double)(g - b) / range : max == g ? 2 + (double)(b - r) / range : 4 + (double)(r - g) / range;
        h /= 6;
        return (h < 0 ? h + 1 : h, (double)range / max, max);
    }

    /// <summary>The 8-bit colour of hue <paramref name="h"/> in [0, 1), saturation in [0, 1] and value in [0, 255].</summary>
    public static (byte R, byte G, byte B) FromHsv(double h, double s, double v)
    {
        double sector = h * 6;
        int i = (int)Math.Floor(sector) % 6;
        double f = sector - Math.Floor(sector);
        byte p = ToByte(v * (1 - s)), q = ToByte(v * (1 - s * f)), t = ToByte(v * (1 - s * (1 - f))), w = ToByte(v);
        return i switch { 0 => (w, t, p), 1 => (q, w, p), 2 => (p, w, t), 3 => (p, q, w), 4 => (t, p, w), _ => (w, p, q) };
    }

    private static byte ToByte(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    /// <summary>Reorders the channels: output channel c is input channel <paramref name="order"/>[c].</summary>
    public static RgbImage PermuteChannels(RgbImage img, IReadOnlyList<int> order)
    {
        var dst = new byte[img.Pixels.Length];
        for (int i = 0; i < dst.Length; i += 3)
            for (int c = 0; c < 3; c++) dst[i + c] = img.Pixels[i + order[c]];
        return img with { Pixels = dst };
    }

    /// <summary>ITU-R 601 luma (PIL's convert("L")), replicated to three channels.</summary>
    public static byte[] Gray(RgbImage img)
    {
        var g = new byte[img.Pixels.Length];
        for (int i = 0; i < g.Length; i += 3)
        {
            var l = (byte)((img.Pixels[i] * 19595 + img.Pixels[i + 1] * 38470 + img.Pixels[i + 2] * 7471 + 0x8000) >> 16);
            g[i] = g[i + 1] = g[i + 2] = l;
        }
        return g;
    }
}
