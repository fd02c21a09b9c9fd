namespace MobileOne.Data;

/// <summary>
/// ImageNet evaluation preprocessing as torchvision and timm do it: resize the shorter side to
/// floor(size / crop_pct) (256 for 224 at 0.875) with antialiased bilinear resampling, center crop
/// size x size, scale to [0, 1], normalise per channel. The resampler follows PIL's (triangle filter
/// widened by the downscale factor, horizontal pass then vertical, 8-bit rounding after each).
/// </summary>
public sealed record ImagePreprocessor
{
    /// <summary>Side of the square crop fed to the network.</summary>
    public int Size { get; init; } = 224;

    /// <summary>Fraction of the resized shorter side kept by the crop.</summary>
    public double CropPct { get; init; } = 0.875;

    /// <summary>Per-channel mean (RGB) subtracted after scaling to [0, 1].</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Per-channel standard deviation (RGB).</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Channels produced: 3 (RGB) or 1 (luma, for grayscale models; normalised with Mean[0] and Std[0]).</summary>
    public int Channels { get; init; } = 3;

    /// <summary>
    /// Resize the whole image to Size x Size, its aspect ratio given up, instead of the shorter side then a centre crop:
    /// a detector's input, whose boxes must cover the whole image (<see cref="CropPct"/> is then unused).
    /// </summary>
    public bool Stretch { get; init; }

    /// <summary>Length of the shorter side after the resize.</summary>
    public int ResizeSize => (int)Math.Floor(Size / CropPct + 1e-9);

    /// <summary>Checks the settings, naming the bad one.</summary>
    public ImagePreprocessor Validated()
    {
        if (Size < 1) throw new MobileOneException($"image size must be positive, found {Size}");
        if (!(CropPct > 0 && CropPct <= 1)) throw new MobileOneException($"crop_pct must be in (0, 1], found {CropPct}");
        if (Mean.Count != 3 || Std.Count != 3 || Std.Any(s => !(s > 0)))
            throw new MobileOneException("mean and std need 3 values each, std positive");
        if (Channels is not (1 or 3)) throw new MobileOneException($"channels must be 1 or 3, found {Channels}");
        if (Mean.Concat(Std).Any(v => !float.IsFinite(v))) throw new MobileOneException("mean and std must be finite numbers");
        ResourceLimits.Current.CheckInput(Size, Size, "the preprocessing");
        return this;
    }

    /// <summary>The network input for one image: Channels x Size x Size floats, channel-major.</summary>
    public float[] Process(RgbImage image)
    {
        var output = new float[Channels * Size * Size];
        ProcessInto(image, output);
        return output;
    }

    /// <summary>Writes the network input for one image into <paramref name="destination"/> (Channels x Size x Size floats).</summary>
    public void ProcessInto(RgbImage image, Span<float> destination)
    {
        if (Stretch)
        {
            Normalize(Resample.Bilinear(image, Size, Size), 0, 0, destination);
            return;
        }
        int w = image.Width, h = image.Height, target = ResizeSize;
        // The shorter side becomes `target`; the longer keeps the aspect ratio, truncated as torchvision does.
        // In long: a thin image's longer side can pass 2^31 once scaled, and only the crop is computed.
        (long rw, long rh) = w <= h ? ((long)target, (long)target * h / w) : ((long)target * w / h, (long)target);
        if (rw < Size || rh < Size)
            throw new MobileOneException($"image {w}x{h} resized to {rw}x{rh} is smaller than the {Size}x{Size} crop");
        long top = (long)Math.Round((rh - Size) / 2.0, MidpointRounding.ToEven);
        long left = (long)Math.Round((rw - Size) / 2.0, MidpointRounding.ToEven);
        Normalize(Resample.BilinearWindow(image, rw, rh, left, top, Size, Size), 0, 0, destination);
    }

    /// <summary>
    /// Writes the Size x Size window at (<paramref name="left"/>, <paramref name="top"/>) of an image as
    /// normalised floats, channel-major (luma for one channel).
    /// </summary>
    public void Normalize(RgbImage resized, int left, int top, Span<float> destination) =>
        Normalize(resized, left, top, Size, Size, destination);

    /// <summary>
    /// Writes the <paramref name="width"/> x <paramref name="height"/> window at (<paramref name="left"/>,
    /// <paramref name="top"/>) of an image as normalised floats, channel-major (luma for one channel).
    /// </summary>
    public void Normalize(RgbImage image, int left, int top, int width, int height, Span<float> destination)
    {
        int rw = image.Width, plane = width * height;
        if (Channels == 1)
        {
            var gray = ImageOps.Gray(image);
            float scale = 1f / (255f * Std[0]), shift = Mean[0] / Std[0];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    destination[y * width + x] = gray[((top + y) * rw + left + x) * 3] * scale - shift;
            return;
        }
        for (int c = 0; c < 3; c++)
        {
            float scale = 1f / (255f * Std[c]), shift = Mean[c] / Std[c];
            for (int y = 0; y < height; y++)
            {
                int src = ((top + y) * rw + left) * 3 + c;
                int dst = c * plane + y * width;
                for (int x = 0; x < width; x++, src += 3)
                    destination[dst + x] = image.Pixels[src] * scale - shift;
            }
        }
    }
}
