using MobileOne.Data;
using MobileOne.Detection;

namespace MobileOne.Tests;

/// <summary>SSD's training augmentation: boxes follow the pixels through every step, and a sample's result depends on its seed alone.</summary>
public sealed class DetectionAugmentationTests
{
    private static readonly Rgb Gray = new(128, 128, 128);

    private static readonly Rgb[] Colours = [new(250, 20, 20), new(20, 250, 20), new(20, 20, 250), new(250, 250, 20)];

    // A gray image with one solid rectangle per box, box i in Colours[i].
    private static DetectionSample Scene(int width, int height, params (int X1, int Y1, int X2, int Y2)[] boxes)
    {
        var pixels = new byte[width * height * 3];
        for (int p = 0; p < width * height; p++) (pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]) = (Gray.R, Gray.G, Gray.B);
        for (int i = 0; i < boxes.Length; i++)
            for (int y = boxes[i].Y1; y < boxes[i].Y2; y++)
                for (int x = boxes[i].X1; x < boxes[i].X2; x++)
                    (pixels[3 * (y * width + x)], pixels[3 * (y * width + x) + 1], pixels[3 * (y * width + x) + 2]) = (Colours[i].R, Colours[i].G, Colours[i].B);
        var flat = boxes.SelectMany(b => new float[] { b.X1, b.Y1, b.X2, b.Y2 }).ToArray();
        return new DetectionSample(new RgbImage(width, height, pixels), flat, Enumerable.Range(1, boxes.Length).ToArray());
    }

    // An image whose red and green channels are each pixel's column and row: any crop tells where it was taken.
    private static DetectionSample Coordinates(int width, int height, float[] boxes, int[] labels)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) (pixels[3 * (y * width + x)], pixels[3 * (y * width + x) + 1]) = ((byte)x, (byte)y);
        return new DetectionSample(new RgbImage(width, height, pixels), boxes, labels);
    }

    private static Rgb At(RgbImage img, int x, int y) => new(img.Pixels[3 * (y * img.Width + x)], img.Pixels[3 * (y * img.Width + x) + 1], img.Pixels[3 * (y * img.Width + x) + 2]);

    private static DetectionSample Sample() => Scene(120, 90, (10, 10, 50, 40), (70, 30, 110, 80), (30, 60, 45, 75));

    [Fact]
    public void TheSameSeedEpochAndIndexGiveTheSameSampleOnAnyThreadAndOthersDiffer()
    {
        var aug = DetectionAugmentation.Ssd;
        var sample = Sample();
        var sequential = Enumerable.Range(0, 16).Select(i => aug.Apply(sample, 7, 2, i, 64)).ToArray();
        var parallel = new DetectionSample[16];
        Parallel.For(0, 16, i => parallel[15 - i] = aug.Apply(sample, 7, 2, 15 - i, 64));
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(sequential[i].Image.Pixels, parallel[i].Image.Pixels);
            Assert.Equal(sequential[i].Boxes, parallel[i].Boxes);
            Assert.Equal(sequential[i].Labels, parallel[i].Labels);
        }
        var otherEpoch = Enumerable.Range(0, 16).Select(i => aug.Apply(sample, 7, 3, i, 64)).ToArray();
        var otherSeed = Enumerable.Range(0, 16).Select(i => aug.Apply(sample, 8, 2, i, 64)).ToArray();
        Assert.Contains(Enumerable.Range(0, 16), i => !sequential[i].Image.Pixels.SequenceEqual(otherEpoch[i].Image.Pixels));
        Assert.Contains(Enumerable.Range(0, 16), i => !sequential[i].Image.Pixels.SequenceEqual(otherSeed[i].Image.Pixels));
        Assert.Equal(16, sequential.Select(s => Convert.ToHexString(s.Image.Pixels)).Distinct().Count());
        Assert.Equal(Sample().Image.Pixels, sample.Image.Pixels); // the input is left as it was
        Assert.Equal(Sample().Boxes, sample.Boxes);
    }

    [Fact]
    public void AFlipMirrorsTheBoxesWithThePixels()
    {
        var flipped = DetectionTransforms.FlipHorizontal(Sample());
        Assert.Equal(new float[] { 70, 10, 110, 40, 10, 30, 50, 80, 75, 60, 90, 75 }, flipped.Boxes);
        Assert.Equal([1, 2, 3], flipped.Labels);
        Assert.Equal(Colours[0], At(flipped.Image, 70, 10));
        Assert.Equal(Colours[0], At(flipped.Image, 109, 39));
        Assert.Equal(Gray, At(flipped.Image, 69, 10));
        Assert.Equal(Colours[1], At(flipped.Image, 10, 30));
    }

    [Fact]
    public void AZoomOutKeepsTheBoxesOnTheirContentAndFillsTheCanvas()
    {
        var fill = new Rgb(123, 117, 104);
        var zoomed = DetectionTransforms.Expand(Sample(), 300, 200, 37, 51, fill);
        Assert.Equal((300, 200), (zoomed.Image.Width, zoomed.Image.Height));
        Assert.Equal(new float[] { 47, 61, 87, 91, 107, 81, 147, 131, 67, 111, 82, 126 }, zoomed.Boxes);
        Assert.Equal(Colours[0], At(zoomed.Image, 47, 61));
        Assert.Equal(Colours[1], At(zoomed.Image, 146, 130));
        Assert.Equal(Gray, At(zoomed.Image, 37, 51));
        Assert.Equal(fill, At(zoomed.Image, 36, 51));
        Assert.Equal(fill, At(zoomed.Image, 299, 199));
    }

    [Fact]
    public void ACropKeepsOnlyTheBoxesCentredInsideItClippedToIt()
    {
        // Centres: (30, 25) inside, (90, 55) inside, (37.5, 67.5) below the crop.
        var cropped = DetectionTransforms.Crop(Sample(), 20, 15, 80, 45);
        Assert.Equal([1, 2], cropped.Labels);
        Assert.Equal(new float[] { 0, 0, 30, 25, 50, 15, 80, 45 }, cropped.Boxes);
        Assert.Equal(Colours[0], At(cropped.Image, 0, 0));
        Assert.Equal(Colours[1], At(cropped.Image, 79, 44));
    }

    [Fact]
    public void TheRandomIoUCropKeepsExactlyTheCentredBoxesClippedToACropOfTheAllowedShape()
    {
        float[] boxes = [10, 10, 60, 50, 100, 20, 190, 120, 150, 150, 170, 190, 5, 160, 25, 195];
        int[] labels = [4, 7, 2, 9];
        var sample = Coordinates(200, 200, boxes, labels);
        int cropped = 0, unchanged = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            var result = DetectionAugmentation.RandomIoUCrop(sample, new Random(seed));
            if (ReferenceEquals(result, sample)) { unchanged++; continue; }
            cropped++;
            var img = result.Image;
            int left = img.Pixels[0], top = img.Pixels[1];
            Assert.InRange(img.Width, 60, 200);
            Assert.InRange(img.Height, 60, 200);
            Assert.InRange((double)img.Width / img.Height, 0.5, 2.0);
            var inside = Enumerable.Range(0, 4).Where(i =>
            {
                float cx = (boxes[4 * i] + boxes[4 * i + 2]) / 2, cy = (boxes[4 * i + 1] + boxes[4 * i + 3]) / 2;
                return left < cx && cx < left + img.Width && top < cy && cy < top + img.Height;
            }).ToArray();
            Assert.NotEmpty(inside);
            Assert.Equal(inside.Select(i => labels[i]), result.Labels);
            for (int k = 0; k < inside.Length; k++)
            {
                int i = inside[k];
                Assert.Equal(Math.Clamp(boxes[4 * i] - left, 0, img.Width), result.Boxes[4 * k]);
                Assert.Equal(Math.Clamp(boxes[4 * i + 1] - top, 0, img.Height), result.Boxes[4 * k + 1]);
                Assert.Equal(Math.Clamp(boxes[4 * i + 2] - left, 0, img.Width), result.Boxes[4 * k + 2]);
                Assert.Equal(Math.Clamp(boxes[4 * i + 3] - top, 0, img.Height), result.Boxes[4 * k + 3]);
            }
        }
        // "No crop" is one option of seven, and an option whose 40 trials all fail is drawn again: 1/7 of the
        // samples or somewhat more end uncropped (38 of these 200).
        Assert.InRange(unchanged, 12, 50);
        Assert.Equal(200 - unchanged, cropped);
    }

    [Fact]
    public void AfterTheWholePipelineEveryBoxLiesInsideTheImageAroundPixelsOfItsObject()
    {
        // Without the photometric step, colours survive, so each box's centre shows its object's colour.
        var aug = DetectionAugmentation.Ssd with { PhotometricDistort = false };
        var sample = Sample();
        int checkedBoxes = 0;
        for (int index = 0; index < 60; index++)
        {
            var result = aug.Apply(sample, 1, 0, index, 96);
            Assert.Equal((96, 96), (result.Image.Width, result.Image.Height));
            for (int k = 0; k < result.Labels.Length; k++)
            {
                var b = result.Boxes.AsSpan(4 * k, 4);
                Assert.True(0 <= b[0] && b[0] < b[2] && b[2] <= 96 && 0 <= b[1] && b[1] < b[3] && b[3] <= 96, $"box {string.Join(", ", b.ToArray())}");
                Assert.True(b[2] - b[0] >= aug.MinBoxSide && b[3] - b[1] >= aug.MinBoxSide);
                if (b[2] - b[0] < 4 || b[3] - b[1] < 4) continue; // too small for its centre to escape the resize's blur
                var centre = At(result.Image, (int)((b[0] + b[2]) / 2), (int)((b[1] + b[3]) / 2));
                var expected = Colours[result.Labels[k] - 1];
                Assert.True(Math.Abs(centre.R - expected.R) + Math.Abs(centre.G - expected.G) + Math.Abs(centre.B - expected.B) <= 30, $"sample {index}, box {k}: {centre} at the centre, {expected} expected");
                checkedBoxes++;
            }
        }
        Assert.True(checkedBoxes > 60, $"only {checkedBoxes} boxes checked");
    }

    [Fact]
    public void BoxesThatShrinkBelowAPixelAreDroppedWithTheirLabels()
    {
        var sample = Scene(320, 320, (10, 10, 200, 200), (250, 250, 252, 253));
        var small = DetectionTransforms.DropDegenerate(DetectionTransforms.Resize(sample, 64, 64), 1f);
        Assert.Equal([1], small.Labels);
        Assert.Equal(new float[] { 2, 2, 40, 40 }, small.Boxes);
        // Without zoom-out or crop, the flip is the only change before the resize.
        var aug = DetectionAugmentation.SsdLite with { IoUCrop = false };
        var augmented = aug.Apply(sample, 0, 0, 0, 64);
        Assert.Equal([1], augmented.Labels);
        var empty = DetectionTransforms.DropDegenerate(sample with { Boxes = [5, 5, 5, 9, 3, 3, 9, 2], Labels = [1, 2] }, 0.001f);
        Assert.Empty(empty.Labels);
        Assert.Empty(empty.Boxes);
    }

    [Fact]
    public void ASampleWithoutBoxesIsAugmentedAndOneWithMismatchedBoxesRefused()
    {
        var none = new DetectionSample(Sample().Image, [], []);
        Assert.Same(none, DetectionAugmentation.RandomIoUCrop(none, new Random(0)));
        var result = DetectionAugmentation.Ssd.Apply(none, 0, 0, 0, 32);
        Assert.Equal((32, 32), (result.Image.Width, result.Image.Height));
        Assert.Empty(result.Labels);
        var bad = Sample() with { Labels = [1, 2] };
        Assert.Equal("a detection sample has 12 box coordinates for 2 labels (4 per label expected)",
            Assert.Throws<MobileOneException>(() => DetectionAugmentation.Ssd.Apply(bad, 0, 0, 0, 32)).Message);
    }

    [Fact]
    public void PhotometricDistortionKeepsTheSizeAndSometimesPermutesTheChannels()
    {
        var image = Sample().Image;
        var results = Enumerable.Range(0, 40).Select(s => DetectionAugmentation.RandomPhotometricDistort(image, new Random(s))).ToList();
        Assert.All(results, r => Assert.Equal((image.Width, image.Height), (r.Width, r.Height)));
        Assert.Contains(results, r => !r.Pixels.SequenceEqual(image.Pixels));
        // The pure red rectangle: only a channel permutation can make it pure green or blue at full strength.
        Assert.Contains(results, r => At(r, 20, 20).R < At(r, 20, 20).G);
    }

    [Fact]
    public void HueRotatesColoursAndZeroKeepsEveryPixel()
    {
        var rng = new Random(3);
        var pixels = new byte[3 * 4096];
        rng.NextBytes(pixels);
        var img = new RgbImage(64, 64, pixels);
        Assert.Equal(pixels, ImageOps.Hue(img, 0).Pixels);
        var red = new RgbImage(1, 1, [255, 0, 0]);
        Assert.Equal([0, 255, 0], ImageOps.Hue(red, 1.0 / 3).Pixels);
        Assert.Equal([0, 0, 255], ImageOps.Hue(red, -1.0 / 3).Pixels);
        Assert.Equal([255, 128, 0], ImageOps.Hue(red, 1.0 / 12).Pixels);
        Assert.Equal([2, 0, 1], ImageOps.PermuteChannels(new RgbImage(1, 1, [0, 1, 2]), [2, 0, 1]).Pixels);
    }
}
