using MobileOne.Checkpoints;
using MobileOne.Data;
using MobileOne.Inference;
using MobileOne.Models;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary>Damaged images, built byte by byte: each fails alone, with its name and reason, and the others are classified.</summary>
public sealed class BadImageTests : FileTest
{
    private static readonly MobileOneConfig Tiny = new([1, 1, 1, 1], [0.25, 0.25, 0.25, 0.25], false, 1, 5);

    private string Checkpoint()
    {
        var path = Dir.File("tiny.pth.tar");
        using var model = new MobileOneModel(Tiny);
        MobileOneCheckpoint.Save(model, path);
        return path;
    }

    private string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(Dir.File(name), bytes);
        return Dir.File(name);
    }

    /// <summary>A GIF whose LZW codes past the first few are all ones: codes the dictionary does not hold yet.</summary>
    private static byte[] GifWithBadLzwCodes()
    {
        var gif = TestFiles.Gif(8, 8);
        gif.AsSpan(TestFiles.GifDataOffset + 1 + 3, 20).Fill(0xFF);
        return gif;
    }

    [Fact]
    public void TheHandBuiltImagesAreWhatTheyClaimToBe()
    {
        var gif = ImageDecoder.Decode(Write("good.gif", TestFiles.Gif(8, 8)));
        Assert.Equal((8, 8), (gif.Width, gif.Height));
        Assert.Equal(TestFiles.GifPalette[..3], TestFiles.Pixel(gif, 0, 0));   // index 0
        Assert.Equal(TestFiles.GifPalette[6..9], TestFiles.Pixel(gif, 1, 1));  // index 2
        Assert.Equal(TestFiles.GifPalette[9..], TestFiles.Pixel(gif, 7, 4));   // index 3
        var png = ImageDecoder.Decode(Write("good.png", TestFiles.Png(20, 16, 40)));
        Assert.Equal((20, 16), (png.Width, png.Height));
        Assert.Equal(new byte[] { 40, 215, 90 }, TestFiles.Pixel(png, 19, 15));

        // The damaged ones fail to decode, each with its file's name and what is wrong.
        var lzw = Write("lzw.gif", GifWithBadLzwCodes());
        Assert.Equal($"{lzw}: the image data are corrupt (ErrorInInput)", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(lzw)).Message);
        var full = TestFiles.Gif(8, 8);
        var cut = Write("cut.gif", full[..(full.Length / 2)]);
        Assert.Equal($"{cut}: the image is truncated", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(cut)).Message);
        var idat = Write("idat.png", TestFiles.PngWithBrokenIdat(20, 16));
        Assert.StartsWith($"{idat}: the image", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(idat)).Message);
    }

    [Fact]
    public void ClassifyFilesReportsEachBadFileAndClassifiesTheRest()
    {
        string[] files =
        [
            Write("a.png", TestFiles.Png(40, 30, 200)),
            Write("b_lzw.gif", GifWithBadLzwCodes()),
            Write("c.gif", TestFiles.Gif(8, 8)),
            Write("d_idat.png", TestFiles.PngWithBrokenIdat(20, 16)),
            Write("e_text.jpg", "not an image"u8.ToArray()),
            Dir.File("f_missing.png"),
            // A 1x1 GIF whose screen says 65535x1: scaled to a 256-pixel short side it is 16.8 million pixels
            // wide, whose int-sized buffer once overflowed in the middle of a batch; only the crop is computed now.
            Write("g_thin.gif", TestFiles.Gif(1, 1, screenWidth: 65535, screenHeight: 1)),
            Write("h.gif", TestFiles.Gif(30, 20)),
        ];
        using var classifier = ImageClassifier.FromCheckpoint(Checkpoint());
        var results = classifier.ClassifyFiles(files, topK: 2, batchSize: 3);
        Assert.Equal(files, results.Select(r => r.Path));
        foreach (var i in new[] { 0, 2, 6, 7 })
        {
            Assert.True(results[i].Succeeded, results[i].Error);
            Assert.Equal(2, results[i].Predictions!.Count);
        }
        // The same images alone get the same classes: a failure does not shift the others in their batch.
        var alone = classifier.Classify([ImageDecoder.Decode(files[2])], topK: 2)[0];
        Assert.Equal(alone.Select(p => p.ClassIndex), results[2].Predictions!.Select(p => p.ClassIndex));
        Assert.Equal(alone[0].Probability, results[2].Predictions![0].Probability, 1e-5);

        string Error(int i) => Assert.IsType<string>(results[i].Error);
        Assert.Equal($"{files[1]}: the image data are corrupt (ErrorInInput)", Error(1));
        Assert.StartsWith($"{files[3]}: the image", Error(3));
        Assert.Equal($"{files[4]}: not a decodable image (JPEG, PNG, BMP, GIF or WebP expected)", Error(4));
        Assert.Equal($"image not found: {files[5]}", Error(5));
        Assert.All(results.Where(r => !r.Succeeded), r => Assert.Null(r.Predictions));

        Assert.Contains("topk must be at least 1", Assert.Throws<MobileOneException>(() => classifier.ClassifyFiles(files, topK: 0)).Message);
    }

    [Fact]
    public void PredictSkipsBadImagesOnStderrAndFailsOnlyWhenNoneWasClassified()
    {
        var checkpoint = Checkpoint();
        var folder = Directory.CreateDirectory(Dir.File("photos")).FullName;
        File.WriteAllBytes(Path.Combine(folder, "a.png"), TestFiles.Png(40, 30, 200));
        File.WriteAllBytes(Path.Combine(folder, "b.gif"), GifWithBadLzwCodes());
        File.WriteAllBytes(Path.Combine(folder, "c.png"), TestFiles.PngWithBrokenIdat(20, 16));
        var r = Run("predict", "--checkpoint", checkpoint, folder, "--image-size", "32", "--topk", "1");
        Assert.True(r.Code == 0, r.Err);
        var skipped = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, skipped.Length);
        Assert.Equal($"skipped: {Path.Combine(folder, "b.gif")}: the image data are corrupt (ErrorInInput)", skipped[0]);
        Assert.StartsWith($"skipped: {Path.Combine(folder, "c.png")}: the image", skipped[1]);
        Assert.Contains("1. ", r.Out.Split(Path.Combine(folder, "a.png"))[1]); // a.png's top class

        File.Delete(Path.Combine(folder, "a.png"));
        var none = Run("predict", "--checkpoint", checkpoint, folder, "--image-size", "32");
        AssertCleanError(none, 1, "error: none of the 2 images could be classified");
        Assert.Contains($"skipped: {Path.Combine(folder, "b.gif")}: ", none.Err);
    }
}
