using MobileOne.Data;
using MobileOne.Data.Mosaic;
using MobileOne.Segmentation;

namespace MobileOne.Tests;

/// <summary>Mask PNGs read as indices, the three VOC-format layouts, ADE20K's labels, and each bad input named.</summary>
public sealed class SegmentationDataTests : FileTest
{
    private static readonly byte[] Labels = Enumerable.Range(0, 7 * 6).Select(i => (byte)(i * 13 % 21)).ToArray();

    [Fact]
    public void PaletteAndGreyMasksReadAsTheirIndices()
    {
        // Palette indices through all five row filters, not the palette's colours.
        var palette = SegmentationFiles.WriteMask(Dir.File("p.png"), 7, 6, Labels);
        var read = MaskPng.Read(palette);
        Assert.Equal((7, 6), (read.Width, read.Height));
        Assert.Equal(Labels, read.Labels);
        // A grey PNG as SkiaSharp (and the mosaic) writes it.
        File.WriteAllBytes(Dir.File("g.png"), ImageEncoder.GrayPng(Labels, 7, 6));
        Assert.Equal(Labels, MaskPng.Read(Dir.File("g.png")).Labels);
    }

    [Fact]
    public void BadMaskFilesAreNamed()
    {
        void Refused(byte[] bytes, string message)
        {
            File.WriteAllBytes(Dir.File("m.png"), bytes);
            var e = Assert.ThrowsAny<MobileOneException>(() => MaskPng.Read(Dir.File("m.png")));
            Assert.Contains(Dir.File("m.png"), e.Message);
            Assert.Contains(message, e.Message);
        }
        var good = SegmentationFiles.Png(7, 6, Labels);
        Refused(ImageEncoder.RgbPng(new RgbImage(2, 2, new byte[12])), "a mask must be an 8-bit grey or palette PNG; this one has colour type");
        Refused(SegmentationFiles.Png(7, 6, Labels, depth: 16), "colour type 3 at 16 bits");
        Refused([.. good[..^20]], "truncated");
        var damaged = good.ToArray();
        damaged[40] ^= 0xFF;
        Refused(damaged, "is damaged (CRC mismatch)");
        Refused("GIF89a......"u8.ToArray(), "not a PNG file");
        // A header claiming 100,000 x 100,000 pixels is refused before anything of that size is allocated.
        Refused(SegmentationFiles.Png(100_000, 100_000, []), "100000x100000 pixels is above the limit");
        Assert.Contains("mask not found", Assert.Throws<MobileOneException>(() => MaskPng.Read(Dir.File("none.png"))).Message);
    }

    [Fact]
    public void VocLayoutReadsImagesMasksAndSplits()
    {
        var root = Dir.File("VOC");
        SegmentationFiles.WriteImage(Path.Combine(root, "JPEGImages", "2007_000032.png"), 7, 6);
        SegmentationFiles.WriteMask(Path.Combine(root, "SegmentationClass", "2007_000032.png"), 7, 6, Labels.Select(l => l == 20 ? (byte)255 : l).ToArray());
        Directory.CreateDirectory(Path.Combine(root, "ImageSets", "Segmentation"));
        File.WriteAllText(Path.Combine(root, "ImageSets", "Segmentation", "val.txt"), "2007_000032\n\n");
        var data = SegmentationData.Open(root, "val", 20);
        Assert.Equal("2007_000032", Assert.Single(data.Samples).Stem);
        var sample = data.Load(0);
        Assert.Equal((7, 6), (sample.Image.Width, sample.Image.Height));
        Assert.Contains((byte)255, sample.Mask.Labels);
        // With 19 classes, label 19 is neither a class nor ignored.
        Assert.Contains("label 19 at pixel", Assert.Throws<MobileOneException>(() => SegmentationData.Open(root, "val", 19).Load(0)).Message);
    }

    [Fact]
    public void Ade20kLabelsIgnoreZeroAndShiftDown()
    {
        byte[] labels = [0, 1, 2, 150, 255];
        SegmentationData.ReduceZeroLabel(labels);
        Assert.Equal([255, 0, 1, 149, 255], labels);
        var root = Dir.File("ade");
        SegmentationFiles.WriteImage(Path.Combine(root, "images", "x.png"), 2, 1);
        SegmentationFiles.WriteMask(Path.Combine(root, "masks", "x.png"), 2, 1, [0, 150]);
        File.WriteAllText(Path.Combine(root, "train.txt"), "x\n");
        Assert.Equal([255, 149], SegmentationData.Open(root, "train", 150, MaskLabels.Ade20k).Load(0).Mask.Labels);
        Assert.Contains("label 150", Assert.Throws<MobileOneException>(() => SegmentationData.Open(root, "train", 150).Load(0)).Message);
    }

    [SkippableFact]
    public void MosaicLayoutIsRead()
    {
        Fixtures.RequireFashionMnist();
        var dir = MosaicGenerator.Generate(new MosaicOptions { Task = MosaicTask.Segment, TrainImages = 2, ValImages = 1, Size = 64, Seed = 2 }, Dir.File("m")).Dir;
        int classes = IdxClassNames.Read(Path.Combine(dir, MosaicGenerator.ClassesFile)).Count;
        var train = SegmentationData.Open(dir, "train", classes);
        Assert.Equal(["000001", "000002"], train.Samples.Select(s => s.Stem));
        var first = train.Load(0);
        Assert.Equal((64, 64), (first.Mask.Width, first.Mask.Height));
        Assert.Contains((byte)SegmentationData.Ignore, first.Mask.Labels); // the band at item borders
        Assert.Contains(first.Mask.Labels, l => l is > 0 and < 255);
    }

    [Fact]
    public void BadDataSetsAreNamed()
    {
        var root = Dir.File("flat");
        SegmentationFiles.WriteImage(Path.Combine(root, "images", "a.png"), 4, 3);
        SegmentationFiles.WriteMask(Path.Combine(root, "masks", "a.png"), 3, 4, new byte[12]);
        SegmentationFiles.WriteImage(Path.Combine(root, "images", "b.png"), 4, 3);
        File.WriteAllText(Path.Combine(root, "train.txt"), "a\n");
        File.WriteAllText(Path.Combine(root, "val.txt"), "a\nb\n");
        File.WriteAllText(Path.Combine(root, "bad.txt"), "../etc/passwd\n");
        string Message(Action act) => Assert.Throws<MobileOneException>(act).Message;
        Assert.Contains($"{Path.Combine(root, "masks", "a.png")}: a mask of 3x4 pixels for an image of 4x3", Message(() => SegmentationData.Open(root, "train", 2).Load(0)));
        Assert.Contains($"{Path.Combine(root, "masks", "b.png")}: no mask for the image 'b'", Message(() => SegmentationData.Open(root, "val", 2)));
        Assert.Contains("bad.txt: line 1 is not a file stem", Message(() => SegmentationData.Open(root, "bad", 2)));
        Assert.Contains("test.txt: no split list", Message(() => SegmentationData.Open(root, "test", 2)));
        File.WriteAllText(Path.Combine(root, "c.txt"), "c\n");
        Assert.Contains("c.txt: no image for 'c'", Message(() => SegmentationData.Open(root, "c", 2)));
        Assert.Contains("neither JPEGImages/ (Pascal VOC) nor images/", Message(() => SegmentationData.Open(Dir.Path, "train", 2)));
        Assert.Contains("1 to 255 classes", Message(() => SegmentationData.Open(root, "train", 0)));
    }
}
