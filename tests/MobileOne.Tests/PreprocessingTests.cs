using MobileOne.Data;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MobileOne.Tests;

/// <summary>The evaluation preprocessing reproduces torchvision's on the fixture images.</summary>
public sealed class PreprocessingTests(ITestOutputHelper output) : FileTest
{
    [SkippableTheory]
    [InlineData("chelsea.png")]
    [InlineData("rocket.jpg")]
    public void MatchesTorchvisionEvaluationTransform(string file)
    {
        Fixtures.Require();
        using var scope = NewDisposeScope();
        var path = Path.Combine(Fixtures.Root, "images", file);
        var mine = tensor(new ImagePreprocessor().Process(ImageDecoder.Decode(path)), [1, 3, 224, 224]);
        var reference = NpyFile.Read(Path.Combine(Fixtures.Root, "images", Path.GetFileNameWithoutExtension(file) + "_224.npy"));
        double mean = (mine - reference).abs().mean().item<float>();
        double max = (mine - reference).abs().max().item<float>();
        output.WriteLine($"{file}: mean abs diff {mean:E3}, max {max:E3}");
        Assert.True(mean < 0.02, $"{file}: mean abs diff {mean} (a faithful pipeline stays under 0.02)");
        // A swapped channel order is far off: the check above can fail.
        var swapped = mine.flip(1);
        Assert.True((swapped - reference).abs().mean().item<float>() > 0.05);
    }

    [Fact]
    public void ResizeKeepsAspectAndCropsTheCenter()
    {
        // Resized to 512x256, the centre 224x224 crop of the image is all white.
        var p = new ImagePreprocessor { Mean = [0, 0, 0], Std = [1, 1, 1] };
        var result = p.Process(WhiteMiddleHalf());
        Assert.All(result, v => Assert.Equal(1f, v, 3));
        Assert.Equal(256, p.ResizeSize);
    }

    [Fact]
    public void StretchKeepsTheWholeImage()
    {
        // The image stretched to 32x32: its black quarters survive as the first and last 8 columns (the
        // antialiasing filter blends the column on each side of the edges).
        var p = new ImagePreprocessor { Size = 32, Mean = [0, 0, 0], Std = [1, 1, 1], Stretch = true };
        var result = p.Process(WhiteMiddleHalf());
        foreach (int x in Enumerable.Range(0, 32).Where(x => x is not (7 or 8 or 23 or 24)))
            Assert.Equal(x is > 8 and < 23 ? 1f : 0f, result[5 * 32 + x], 2);
    }

    // A 400x200 image whose left and right quarters are black and middle half white.
    private static RgbImage WhiteMiddleHalf()
    {
        var pixels = new byte[400 * 200 * 3];
        for (int y = 0; y < 200; y++)
            for (int x = 100; x < 300; x++)
                for (int c = 0; c < 3; c++) pixels[(y * 400 + x) * 3 + c] = 255;
        return new RgbImage(400, 200, pixels);
    }

    [Fact]
    public void UnreadableImagesGetAClearError()
    {
        var notImage = Dir.File("notes.jpg");
        File.WriteAllText(notImage, "not an image");
        Assert.Contains("not a decodable image", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(notImage)).Message);
        Assert.Contains("image not found", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(Dir.File("missing.png"))).Message);
    }

    [SkippableFact]
    public void TruncatedImageIsReported()
    {
        Fixtures.Require();
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Root, "images", "rocket.jpg"));
        var path = Dir.File("cut.jpg");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        Assert.Contains("truncated", Assert.Throws<MobileOneException>(() => ImageDecoder.Decode(path)).Message);
    }
}
