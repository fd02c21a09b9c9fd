using MobileOne.Data;
using MobileOne.Training;

namespace MobileOne.Tests;

/// <summary>IDX and ImageFolder readers, augmentation and loader determinism.</summary>
public sealed class TrainingDataTests : FileTest
{
    private string WriteIdx(string name, int magic, int[] dims, byte[] data, int truncateBy = 0) =>
        TestFiles.Idx(Dir.File(name), magic, dims, data, truncateBy: truncateBy);

    [Fact]
    public void IdxFilesAreReadAndCheckedForTruncationAndMagic()
    {
        var pixels = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)i).ToArray();
        var (count, rows, cols, data) = IdxFile.ReadImages(WriteIdx("img.gz", 0x803, [2, 3, 4], pixels));
        Assert.Equal((2, 3, 4), (count, rows, cols));
        Assert.Equal(pixels, data);
        Assert.Equal(new byte[] { 1, 2, 3 }, IdxFile.ReadLabels(WriteIdx("lab.gz", 0x801, [3], [1, 2, 3])));

        var truncated = WriteIdx("cut.gz", 0x803, [2, 3, 4], pixels, truncateBy: 5);
        var e = Assert.Throws<MobileOneException>(() => IdxFile.ReadImages(truncated));
        Assert.Contains("truncated IDX file", e.Message);
        Assert.Contains("19 of 24 bytes", e.Message);
        Assert.Contains("magic number 0x801", Assert.Throws<MobileOneException>(() => IdxFile.ReadImages(WriteIdx("l.gz", 0x801, [3], [1, 2, 3]))).Message);
        File.WriteAllText(Dir.File("bad.gz"), "not gzip at all");
        Assert.Contains("corrupt gzip", Assert.Throws<MobileOneException>(() => IdxFile.ReadLabels(Dir.File("bad.gz"))).Message);
    }

    [SkippableFact]
    public void FashionMnistFromTheDebianPackage()
    {
        Fixtures.RequireFashionMnist();
        var test = FashionMnist.Load(train: false);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(10, test.ClassNames.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, Enumerable.Range(0, test.Count).Count(i => test.Label(i) == c)));
        var img = test.Image(0);
        Assert.Equal((28, 28), (img.Width, img.Height));
    }

    private static void WritePng(string path, byte value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TestFiles.Png(20, 16, value));
    }

    [Fact]
    public void ImageFolderListsSortedClassesAndReportsCorruptImagesByName()
    {
        WritePng(Dir.File("train/dog/a.png"), 10);
        WritePng(Dir.File("train/cat/b.png"), 200);
        WritePng(Dir.File("train/cat/c.png"), 100);
        File.WriteAllText(Dir.File("train/cat/readme.txt"), "not an image: ignored");
        File.WriteAllText(Dir.File("train/dog/broken.png"), "this is not a png");
        var set = ImageFolder.Load(Dir.File("train"));
        Assert.Equal(["cat", "dog"], set.ClassNames);
        Assert.Equal(4, set.Count);
        Assert.Equal([0, 0, 1, 1], Enumerable.Range(0, 4).Select(set.Label));
        Assert.Equal(20, set.Image(0).Width);
        var e = Assert.Throws<MobileOneException>(() => set.Image(3));
        Assert.Contains("broken.png", e.Message);

        WritePng(Dir.File("val/bird/x.png"), 5);
        Assert.Contains("not in the training split: bird", Assert.Throws<MobileOneException>(() => ImageFolder.Load(Dir.File("val"), set.ClassNames)).Message);
        Assert.Contains("image folder not found", Assert.Throws<MobileOneException>(() => ImageFolder.Load(Dir.File("nope"))).Message);
    }

    [Fact]
    public void AugmentationIsDeterministicForASeed()
    {
        var img = new RgbImage(40, 30, Enumerable.Range(0, 40 * 30 * 3).Select(i => (byte)(i * 7 % 251)).ToArray());
        foreach (var policy in Enum.GetValues<AugmentPolicy>())
        {
            var t = new TrainTransform { Policy = policy };
            for (int seed = 0; seed < 40; seed++)
            {
                var a = new float[3 * 24 * 24];
                var b = new float[3 * 24 * 24];
                t.Apply(img, new Random(seed), 24, 1.0, a);
                t.Apply(img, new Random(seed), 24, 1.0, b);
                Assert.Equal(a, b);
                Assert.All(a, v => Assert.True(float.IsFinite(v)));
            }
            var x = new float[3 * 24 * 24];
            var y = new float[3 * 24 * 24];
            t.Apply(img, new Random(1), 24, 1.0, x);
            t.Apply(img, new Random(2), 24, 1.0, y);
            Assert.NotEqual(x, y);
        }
    }

    [Fact]
    public void RandomErasingClearsOneRectangleOfTheRightSizeDeterministically()
    {
        // A constant bright image normalises to one positive value, so erased pixels are exactly the zeros.
        var img = new RgbImage(32, 32, Enumerable.Repeat((byte)230, 32 * 32 * 3).ToArray());
        var t = new TrainTransform { ScaleMin = 1, HorizontalFlip = false, EraseProbability = 1 };
        int erasedImages = 0;
        for (int seed = 0; seed < 50; seed++)
        {
            var a = new float[3 * 32 * 32];
            var b = new float[3 * 32 * 32];
            t.Apply(img, new Random(seed), 32, 1.0, a);
            t.Apply(img, new Random(seed), 32, 1.0, b);
            Assert.Equal(a, b);
            var zero = Enumerable.Range(0, 32 * 32).Where(i => a[i] == 0).ToList();
            if (zero.Count == 0) continue;
            erasedImages++;
            // Same rectangle in every channel, area 2-33 % (with rounding), and a full rectangle.
            Assert.Equal(zero.Count * 3, a.Count(v => v == 0));
            Assert.InRange(zero.Count / 1024.0, 0.015, 0.35);
            int top = zero.Min(i => i / 32), bottom = zero.Max(i => i / 32), left = zero.Min(i => i % 32), right = zero.Max(i => i % 32);
            Assert.Equal((bottom - top + 1) * (right - left + 1), zero.Count);
        }
        Assert.True(erasedImages >= 45, $"only {erasedImages} of 50 images were erased with probability 1");

        var none = new float[3 * 32 * 32];
        (t with { EraseProbability = 0 }).Apply(img, new Random(0), 32, 1.0, none);
        Assert.DoesNotContain(0f, none);
    }

    [Fact]
    public void LoaderBatchesDoNotDependOnThreadsAndResumeMidEpoch()
    {
        var images = Enumerable.Range(0, 50).Select(i => new RgbImage(12, 12, Enumerable.Repeat((byte)(i * 5), 12 * 12 * 3).ToArray())).ToArray();
        var set = new InMemory(images);
        var t = new TrainTransform { Policy = AugmentPolicy.RandAugment };
        List<Batch> Run(int workers, int start) =>
            new DataLoader(set, t.Apply, 8, 3, shuffle: true, dropLast: true, seed: 5, workers).Epoch(2, start, _ => (10, 1.0)).ToList();
        var one = Run(1, 0);
        var three = Run(3, 0);
        var resumed = Run(2, 4);
        Assert.Equal(6, one.Count);
        Assert.Equal(one.Select(b => b.Labels), three.Select(b => b.Labels));
        Assert.Equal(one.Select(b => b.Images), three.Select(b => b.Images));
        Assert.Equal(one.Skip(4).Select(b => b.Images), resumed.Select(b => b.Images));
        // Another epoch is another order.
        var loader = new DataLoader(set, t.Apply, 8, 3, true, true, 5, 1);
        Assert.NotEqual(loader.Order(2), loader.Order(3));
    }

    private sealed class InMemory(RgbImage[] images) : IImageDataset
    {
        public int Count => images.Length;
        public IReadOnlyList<string> ClassNames => ["a", "b", "c"];
        public int Label(int index) => index % 3;
        public RgbImage Image(int index) => images[index];
        public string Description => "in memory";
    }
}
