namespace MobileOne.Data;

/// <summary>
/// The training input pipeline for one image: RandomResizedCrop (torchvision's algorithm), horizontal
/// flip, an augmentation policy at a given strength, normalisation. All randomness comes from the
/// <see cref="Random"/> passed in, so a sample's result depends only on its seed.
/// </summary>
public sealed record TrainTransform
{
    /// <summary>Smallest fraction of the image area a crop may keep (torchvision: 0.08).</summary>
    public double ScaleMin { get; init; } = 0.08;

    /// <summary>Whether to mirror half of the images.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>Augmentation policy after crop and flip.</summary>
    public AugmentPolicy Policy { get; init; } = AugmentPolicy.None;

    /// <summary>RandAugment's number of operations.</summary>
    public int RandAugmentN { get; init; } = 2;

    /// <summary>RandAugment's magnitude (of 10).</summary>
    public int RandAugmentM { get; init; } = 9;

    /// <summary>
    /// Probability of random erasing (Zhong et al. 2020): after normalisation, a rectangle covering 2-33 %
    /// of the image with aspect ratio 0.3-3.3 is set to 0, the normalised mean. 0 disables it.
    /// </summary>
    public double EraseProbability { get; init; }

    /// <summary>Normalisation and channel count of the output (its Size and CropPct are ignored).</summary>
    public ImagePreprocessor Normalization { get; init; } = new();

    /// <summary>Writes the augmented <paramref name="size"/> x <paramref name="size"/> input into <paramref name="destination"/>.</summary>
    public void Apply(RgbImage image, Random rng, int size, double strength, Span<float> destination)
    {
        var (left, top, w, h) = CropBox(image.Width, image.Height, rng);
        var img = Resample.Bilinear(ImageOps.Crop(image, left, top, w, h), size, size);
        if (HorizontalFlip && rng.NextDouble() < 0.5) img = ImageOps.FlipHorizontal(img);
        img = Augmentation.Apply(img, Policy, rng, strength, RandAugmentN, RandAugmentM);
        (Normalization with { Size = size }).Normalize(img, 0, 0, destination);
        if (EraseProbability > 0 && rng.NextDouble() < EraseProbability) Erase(destination, size, rng);
    }

    private static void Erase(Span<float> chw, int size, Random rng)
    {
        int channels = chw.Length / (size * size);
        double logLo = Math.Log(0.3), logHi = Math.Log(1 / 0.3);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = size * size * (0.02 + rng.NextDouble() * (1.0 / 3 - 0.02));
            double ratio = Math.Exp(logLo + rng.NextDouble() * (logHi - logLo));
            int h = (int)Math.Round(Math.Sqrt(target * ratio)), w = (int)Math.Round(Math.Sqrt(target / ratio));
            if (h < 1 || w < 1 || h >= size || w >= size) continue;
            int top = rng.Next(size - h + 1), left = rng.Next(size - w + 1);
            for (int c = 0; c < channels; c++)
                for (int y = top; y < top + h; y++)
                    chw.Slice((c * size + y) * size + left, w).Clear();
            return;
        }
    }

    /// <summary>torchvision's RandomResizedCrop box: area fraction in [ScaleMin, 1], aspect ratio in [3/4, 4/3] (log-uniform).</summary>
    public (int Left, int Top, int Width, int Height) CropBox(int width, int height, Random rng)
    {
        double area = (double)width * height, logLo = Math.Log(3.0 / 4), logHi = Math.Log(4.0 / 3);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (ScaleMin + rng.NextDouble() * (1 - ScaleMin));
            double ratio = Math.Exp(logLo + rng.NextDouble() * (logHi - logLo));
            int w = (int)Math.Round(Math.Sqrt(target * ratio)), h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
                return (rng.Next(width - w + 1), rng.Next(height - h + 1), w, h);
        }
        // Fallback: the whole image, center-cropped to the allowed ratio range.
        double r = (double)width / height;
        int cw = width, ch = height;
        if (r < 3.0 / 4) ch = (int)Math.Round(width / (3.0 / 4));
        else if (r > 4.0 / 3) cw = (int)Math.Round(height * 4.0 / 3);
        return ((width - cw) / 2, (height - ch) / 2, cw, ch);
    }
}
