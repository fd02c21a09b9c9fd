using System.Text.Json;
using MobileOne.Data;
using MobileOne.Data.Mosaic;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary><c>data mosaic</c>: the files written, read back with the project's decoders and checked against each other.</summary>
public sealed class MosaicTests : FileTest
{
    private static readonly MosaicOptions Small = new() { TrainImages = 6, ValImages = 3, Size = 128, Seed = 5 };

    // Every file below dir by relative path, with its bytes.
    private static SortedDictionary<string, byte[]> Files(string dir) =>
        new(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes), StringComparer.Ordinal);

    private static byte[] Gray(string path) => ImageDecoder.Decode(path).Pixels.Where((_, i) => i % 3 == 0).ToArray();

    [SkippableFact]
    public void TheSameSeedWritesTheSameBytesAnotherSeedOthersAndBothTasksTheSameImages()
    {
        Fixtures.RequireFashionMnist();
        MosaicGenerator.Generate(Small, Dir.File("a"));
        MosaicGenerator.Generate(Small, Dir.File("b"));
        MosaicGenerator.Generate(Small with { Seed = 6 }, Dir.File("c"));
        MosaicGenerator.Generate(Small with { Task = MosaicTask.Segment }, Dir.File("d"));
        var (a, b, c, d) = (Files(Dir.File("a")), Files(Dir.File("b")), Files(Dir.File("c")), Files(Dir.File("d")));
        Assert.Equal(9 + 2, a.Count);
        Assert.Equal(a.Keys, b.Keys);
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
        Assert.Equal(a.Keys, c.Keys);
        Assert.All(a.Keys.Where(k => k.StartsWith(MosaicGenerator.ImagesFolder)), k => Assert.NotEqual(a[k], c[k]));
        var images = a.Keys.Where(k => k.StartsWith(MosaicGenerator.ImagesFolder)).ToList();
        Assert.Equal(9, images.Count);
        Assert.All(images, k => Assert.Equal(a[k], d[k]));
    }

    [SkippableFact]
    public void TheCocoFileIsWellFormedAndItsBoxesAndAreasAreThoseOfTheItemsPixels()
    {
        Fixtures.RequireFashionMnist();
        var options = Small with { Size = 160 };
        var result = MosaicGenerator.Generate(options, Dir.File("coco"));
        var train = FashionMnist.Load(train: true);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(result.Dir, MosaicGenerator.InstancesPath("train"))));
        var root = json.RootElement;
        var categories = root.GetProperty("categories").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(1, 10), categories.Select(c => c.GetProperty("id").GetInt32()));
        Assert.Equal(FashionMnist.Classes, categories.Select(c => c.GetProperty("name").GetString()));
        var images = root.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(options.TrainImages, images.Count);
        var annotations = root.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(1, annotations.Count), annotations.Select(a => a.GetProperty("id").GetInt32()));
        Assert.NotEmpty(annotations);
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            Assert.Equal(i + 1, image.GetProperty("id").GetInt32());
            Assert.Equal(160, image.GetProperty("width").GetInt32());
            Assert.Equal(160, image.GetProperty("height").GetInt32());
            var decoded = ImageDecoder.Decode(Path.Combine(result.Dir, "images", "train", image.GetProperty("file_name").GetString()!));
            // The scene is drawn again; the boxes and areas are found here from its owner map, independently of the writer.
            var scene = MosaicGenerator.Scene(train, options, 0, i);
            Assert.Equal(scene.Image.Pixels, decoded.Pixels);
            var expected = TightBoxes(scene.Owners, 160, scene.Items.Count);
            var mine = annotations.Where(a => a.GetProperty("image_id").GetInt32() == i + 1).ToList();
            Assert.Equal(scene.Items.Count, mine.Count);
            for (int k = 0; k < mine.Count; k++)
            {
                Assert.Equal(expected[k].Box, mine[k].GetProperty("bbox").EnumerateArray().Select(v => v.GetInt32()).ToArray());
                Assert.Equal(expected[k].Area, mine[k].GetProperty("area").GetInt32());
                Assert.Equal(scene.Items[k].Category, mine[k].GetProperty("category_id").GetInt32());
                Assert.Equal(0, mine[k].GetProperty("iscrowd").GetInt32());
            }
        }
    }

    private static List<(int[] Box, int Area)> TightBoxes(byte[] owners, int size, int count) =>
        Enumerable.Range(1, count).Select(k =>
        {
            var pixels = Enumerable.Range(0, owners.Length).Where(p => owners[p] == k).ToList();
            int x0 = pixels.Min(p => p % size), x1 = pixels.Max(p => p % size), y0 = pixels.Min(p => p / size), y1 = pixels.Max(p => p / size);
            return (new[] { x0, y0, x1 - x0 + 1, y1 - y0 + 1 }, pixels.Count);
        }).ToList();

    [SkippableFact]
    public void MasksHoldClassesAndAThinIgnoreBandAndTheirClassPixelsLieInsideTheBoxesOfTheirClass()
    {
        Fixtures.RequireFashionMnist();
        var options = Small with { Size = 160 };
        var detect = MosaicGenerator.Generate(options, Dir.File("detect"));
        var segment = MosaicGenerator.Generate(options with { Task = MosaicTask.Segment }, Dir.File("segment"));
        Assert.Equal(["background", .. FashionMnist.Classes], IdxClassNames.Read(Path.Combine(segment.Dir, MosaicGenerator.ClassesFile)));
        Assert.Equal(["000001", "000002", "000003"], File.ReadAllLines(Path.Combine(segment.Dir, "val.txt")));
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(detect.Dir, MosaicGenerator.InstancesPath("val"))));
        var annotations = json.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        var test = FashionMnist.Load(train: false);
        for (int i = 0; i < options.ValImages; i++)
        {
            var mask = Gray(Path.Combine(segment.Dir, "masks", "val", MosaicGenerator.FileStem(i) + ".png"));
            Assert.All(mask, v => Assert.True(v <= 10 || v == 255, $"mask value {v}"));
            Assert.Contains((byte)255, mask);
            AssertClassesDoNotTouch(mask, 160);
            Assert.Equal(ExpectedMask(MosaicGenerator.Scene(test, options, 1, i)), mask);
            var boxes = annotations.Where(a => a.GetProperty("image_id").GetInt32() == i + 1)
                .Select(a => (Category: a.GetProperty("category_id").GetInt32(), Box: a.GetProperty("bbox").EnumerateArray().Select(v => v.GetInt32()).ToArray())).ToList();
            // A class pixel off the band is inside its item, whose pixels reach past it on all four sides: strictly inside a box of its class.
            for (int p = 0; p < mask.Length; p++)
            {
                if (mask[p] is 0 or 255) continue;
                int x = p % 160, y = p / 160;
                Assert.Contains(boxes, b => b.Category == mask[p] && b.Box[0] < x && x < b.Box[0] + b.Box[2] - 1 && b.Box[1] < y && y < b.Box[1] + b.Box[3] - 1);
            }
            // Each box's outermost rows and columns hold its item's outline: the band, or its class where the item meets the image's edge.
            foreach (var (category, box) in boxes)
            {
                bool Outline(int x, int y) => mask[y * 160 + x] == 255 || mask[y * 160 + x] == category;
                Assert.Contains(Enumerable.Range(box[0], box[2]), x => Outline(x, box[1]));
                Assert.Contains(Enumerable.Range(box[0], box[2]), x => Outline(x, box[1] + box[3] - 1));
                Assert.Contains(Enumerable.Range(box[1], box[3]), y => Outline(box[0], y));
                Assert.Contains(Enumerable.Range(box[1], box[3]), y => Outline(box[0] + box[2] - 1, y));
            }
        }
    }

    // Different classes never touch: the band lies between them.
    private static void AssertClassesDoNotTouch(byte[] mask, int size)
    {
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                byte v = mask[y * size + x];
                if (v == 255) continue;
                if (x + 1 < size && mask[y * size + x + 1] != 255) Assert.Equal(v, mask[y * size + x + 1]);
                if (y + 1 < size && mask[(y + 1) * size + x] != 255) Assert.Equal(v, mask[(y + 1) * size + x]);
            }
    }

    // The band as pairs: each two side-by-side pixels showing different items (or an item and the background) are both ignored.
    private static byte[] ExpectedMask(MosaicScene scene)
    {
        int size = scene.Image.Width;
        var owners = scene.Owners;
        var mask = owners.Select(o => o == 0 ? (byte)0 : (byte)scene.Items[o - 1].Category).ToArray();
        for (int p = 0; p < owners.Length; p++)
            foreach (int q in new[] { p % size + 1 < size ? p + 1 : -1, p + size < owners.Length ? p + size : -1 })
                if (q >= 0 && owners[p] != owners[q]) mask[p] = mask[q] = 255;
        return mask;
    }

    [SkippableFact]
    public void EveryCocoSizeBandOccursAndItemsStayMostlyVisible()
    {
        Fixtures.RequireFashionMnist();
        var source = FashionMnist.Load(train: false);
        var options = new MosaicOptions { Seed = 3 };
        var scenes = Enumerable.Range(0, 40).Select(i => MosaicGenerator.Scene(source, options, 1, i)).ToList();
        var items = scenes.SelectMany(s => s.Items).ToList();
        Assert.Contains(items, i => i.Area < 32 * 32);
        Assert.Contains(items, i => i.Area >= 32 * 32 && i.Area <= 96 * 96);
        Assert.Contains(items, i => i.Area > 96 * 96);
        Assert.All(scenes, s => Assert.InRange(s.Items.Count, options.MinItems, options.MaxItems));
        Assert.True(scenes.Average(s => s.Items.Count) > 2.5, "too few items placed");
        Assert.Equal(Enumerable.Range(1, 10), items.Select(i => i.Category).Distinct().Order());
        Assert.All(items, i => Assert.InRange(Math.Max(i.Width, i.Height), 1, options.MaxItemSide));
        Assert.Contains(items, i => Math.Max(i.Width, i.Height) <= 16);
        Assert.Contains(items, i => Math.Max(i.Width, i.Height) >= 150);
    }

    [Fact]
    public void MissingFashionMnistBadOptionsAndANonEmptyFolderAreRefusedWithClearMessages()
    {
        var nowhere = Directory.CreateDirectory(Dir.File("nowhere")).FullName;
        Assert.Equal($"Fashion-MNIST not found in {nowhere}; install it with: apt-get install dataset-fashion-mnist",
            Assert.Throws<MobileOneException>(() => MosaicGenerator.Generate(Small, Dir.File("out"), fashionMnistRoot: nowhere)).Message);
        Assert.Equal("the image size must be from 32 to 2,048, found 16",
            Assert.Throws<MobileOneException>(() => MosaicGenerator.Generate(Small with { Size = 16 }, Dir.File("out"))).Message);
        Assert.Equal("the most items per image must be from 3 to 32, found 2",
            Assert.Throws<MobileOneException>(() => MosaicGenerator.Generate(Small with { MinItems = 3, MaxItems = 2 }, Dir.File("out"))).Message);
        File.WriteAllText(Path.Combine(nowhere, "keep.txt"), "x");
        Assert.Contains("is not empty", Assert.Throws<MobileOneException>(() => MosaicGenerator.Generate(Small, nowhere)).Message);
        Assert.False(Directory.Exists(Dir.File("out")));
    }

    [SkippableFact]
    public void TheDataMosaicVerbWritesBothTasksAndRefusesBadInputOnOneLine()
    {
        Fixtures.RequireFashionMnist();
        var detect = Dir.File("detect");
        var r = Run("data", "mosaic", "--task", "detect", "--out", detect, "--train", "4", "--val", "2", "--size", "96");
        Assert.Equal(0, r.Code);
        Assert.Contains($"wrote 4 training and 2 validation images with ", r.Out);
        Assert.Equal(4, Directory.GetFiles(Path.Combine(detect, "images", "train"), "*.png").Length);
        Assert.True(File.Exists(Path.Combine(detect, "annotations", "instances_val.json")));
        var segment = Dir.File("segment");
        Assert.Equal(0, Run("data", "mosaic", "--task", "segment", "--out", segment, "--train", "4", "--val", "2", "--size", "96", "--seed", "1").Code);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(segment, "masks", "val"), "*.png").Length);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(segment, "train.txt")).Length);

        AssertCleanError(Run("data", "mosaic", "--task", "detect", "--out", detect), 1, $"error: {detect} is not empty");
        AssertCleanError(Run("data", "mosaic", "--task", "classify", "--out", Dir.File("x")), 2, "'classify'");
        AssertCleanError(Run("data", "mosaic", "--task", "detect", "--out", Dir.File("x"), "--size", "8"), 2, "--size must be at least 32");
        Assert.Single(Run("data", "mosaic", "--task", "detect", "--out", Dir.File("x"), "--size", "4096").Err.TrimEnd().Split('\n'));
    }
}
