namespace MobileOne.Data;

/// <summary>Policy-based augmentation applied after the crop and flip.</summary>
public enum AugmentPolicy
{
    /// <summary>Crop and flip only.</summary>
    None,
    /// <summary>AutoAugment's ImageNet policy (Cubuk et al.; 25 sub-policies of two operations).</summary>
    AutoAugment,
    /// <summary>RandAugment (Cubuk et al.): N random operations at magnitude M of 10 (timm's scale, M = 9 by default).</summary>
    RandAugment,
}

/// <summary>
/// AutoAugment (ImageNet policy) and RandAugment over <see cref="ImageOps"/>. A strength in (0, 1]
/// scales every magnitude, which is how progressive learning raises augmentation during training.
/// </summary>
public static class Augmentation
{
    private delegate RgbImage Op(RgbImage img, double magnitude, Random rng);

    // Magnitudes in [0, 1] of each operation's range; a sign is drawn for the symmetric ones.
    private static readonly Dictionary<string, Op> Ops = new()
    {
        ["ShearX"] = (i, m, r) => ImageOps.ShearX(i, Signed(0.3 * m, r)),
        ["ShearY"] = (i, m, r) => ImageOps.ShearY(i, Signed(0.3 * m, r)),
        ["TranslateX"] = (i, m, r) => ImageOps.Translate(i, Signed(0.45 * m * i.Width, r), 0),
        ["TranslateY"] = (i, m, r) => ImageOps.Translate(i, 0, Signed(0.45 * m * i.Height, r)),
        ["Rotate"] = (i, m, r) => ImageOps.Rotate(i, Signed(30 * m, r)),
        ["Color"] = (i, m, r) => ImageOps.Color(i, 1 + Signed(0.9 * m, r)),
        ["Posterize"] = (i, m, r) => ImageOps.Posterize(i, 8 - (int)(4 * m)),
        ["Solarize"] = (i, m, r) => ImageOps.Solarize(i, 256 - (int)(256 * m)),
        ["Contrast"] = (i, m, r) => ImageOps.Contrast(i, 1 + Signed(0.9 * m, r)),
        ["Sharpness"] = (i, m, r) => ImageOps.Sharpness(i, 1 + Signed(0.9 * m, r)),
        ["Brightness"] = (i, m, r) => ImageOps.Brightness(i, 1 + Signed(0.9 * m, r)),
        ["AutoContrast"] = (i, m, r) => ImageOps.AutoContrast(i),
        ["Equalize"] = (i, m, r) => ImageOps.Equalize(i),
        ["Invert"] = (i, m, r) => ImageOps.Invert(i),
    };

    private static double Signed(double v, Random rng) => rng.Next(2) == 0 ? v : -v;

    // AutoAugment's ImageNet policy: (op, probability, magnitude bin of 10) pairs.
    private static readonly (string, double, int, string, double, int)[] ImageNetPolicy =
    [
        ("Posterize", 0.4, 8, "Rotate", 0.6, 9), ("Solarize", 0.6, 5, "AutoContrast", 0.6, 5),
        ("Equalize", 0.8, 8, "Equalize", 0.6, 3), ("Posterize", 0.6, 7, "Posterize", 0.6, 6),
        ("Equalize", 0.4, 7, "Solarize", 0.2, 4), ("Equalize", 0.4, 4, "Rotate", 0.8, 8),
        ("Solarize", 0.6, 3, "Equalize", 0.6, 7), ("Posterize", 0.8, 5, "Equalize", 1.0, 2),
        ("Rotate", 0.2, 3, "Solarize", 0.6, 8), ("Equalize", 0.6, 8, "Posterize", 0.4, 6),
        ("Rotate", 0.8, 8, "Color", 0.4, 0), ("Rotate", 0.4, 9, "Equalize", 0.6, 2),
        ("Equalize", 0.0, 7, "Equalize", 0.8, 8), ("Invert", 0.6, 4, "Equalize", 1.0, 8),
        ("Color", 0.6, 4, "Contrast", 1.0, 8), ("Rotate", 0.8, 8, "Color", 1.0, 2),
        ("Color", 0.8, 8, "Solarize", 0.8, 7), ("Sharpness", 0.4, 7, "Invert", 0.6, 8),
        ("ShearX", 0.6, 5, "Equalize", 1.0, 9), ("Color", 0.4, 0, "Equalize", 0.6, 3),
        ("Equalize", 0.4, 7, "Solarize", 0.2, 4), ("Solarize", 0.6, 5, "AutoContrast", 0.6, 5),
        ("Invert", 0.6, 4, "Equalize", 1.0, 8), ("Color", 0.6, 4, "Contrast", 1.0, 8),
        ("Equalize", 0.8, 8, "Equalize", 0.6, 3),
    ];

    private static readonly string[] RandAugmentOps =
        ["AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "Color", "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateX", "TranslateY"];

    /// <summary>Applies the policy; <paramref name="strength"/> in (0, 1] scales the magnitudes.</summary>
    public static RgbImage Apply(RgbImage img, AugmentPolicy policy, Random rng, double strength = 1.0, int randAugmentN = 2, int randAugmentM = 9)
    {
        switch (policy)
        {
            case AugmentPolicy.AutoAugment:
                var (op1, p1, m1, op2, p2, m2) = ImageNetPolicy[rng.Next(ImageNetPolicy.Length)];
                if (rng.NextDouble() < p1) img = Ops[op1](img, strength * m1 / 10.0, rng);
                if (rng.NextDouble() < p2) img = Ops[op2](img, strength * m2 / 10.0, rng);
                return img;
            case AugmentPolicy.RandAugment:
                for (int i = 0; i < randAugmentN; i++)
                    img = Ops[RandAugmentOps[rng.Next(RandAugmentOps.Length)]](img, strength * Math.Clamp(randAugmentM, 0, 10) / 10.0, rng);
                return img;
            default:
                return img;
        }
    }
}
