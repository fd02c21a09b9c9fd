using System.IO.Compression;
using System.Text;
using MobileOne.Data;
using MobileOne.Models;

namespace MobileOne.Tests;

/// <summary>Regression tests for hostile .npy, IDX, JSON configurations and images (issue 11), each file built here.</summary>
public sealed class HostileDataTests : FileTest
{
    private string Npy(string name, string header, int dataBytes)
    {
        var path = Dir.File(name);
        var h = Encoding.Latin1.GetBytes(header);
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    [Theory]
    [InlineData("(2305843009213693952, 2)", "impossibly large")]   // 2^62 elements: 2^64 bytes wraps to 0
    [InlineData("(4611686018427387904, 4)", "impossibly large")]   // the element count itself overflows
    [InlineData("(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)", "more than 32")]
    [InlineData("(-1, 4)", "malformed shape")]
    public void NpyShapesAreCheckedBeforeUse(string shape, string fragment)
    {
        var path = Npy("x.npy", $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n", 0);
        var e = Assert.ThrowsAny<MobileOneException>(() => NpyFile.Read(path));
        Assert.Contains(fragment, e.Message);
        Assert.Contains(path, e.Message);
    }

    private string Idx(string name, int magic, int[] dims, int dataBytes, bool gzip = false)
    {
        var path = Dir.File(name);
        using var f = File.Create(path);
        using Stream s = gzip ? new GZipStream(f, CompressionLevel.Fastest) : f;
        var head = new byte[4 + 4 * dims.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(head, magic);
        for (int i = 0; i < dims.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(head.AsSpan(4 + 4 * i), dims[i]);
        s.Write(head);
        s.Write(new byte[dataBytes]);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TinyIdxFilesClaimingBillionsOfItemsAllocateNothingLarge(bool gzip)
    {
        var path = Idx(gzip ? "labels.gz" : "labels", 0x801, [1 << 30], 0, gzip);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<MobileOneException>(() => IdxFile.ReadLabels(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(gzip ? "truncated" : "the file holds 0", e.Message);
        Assert.True(allocated < 16 << 20, $"{allocated:N0} bytes allocated to refuse an {new FileInfo(path).Length}-byte file");
    }

    [Theory]
    [InlineData(new[] { int.MaxValue, int.MaxValue, int.MaxValue }, "impossibly large")] // the product overflows 64 bits
    [InlineData(new[] { 65536, 65536, 65536 }, ResourceLimits.TensorVariable)]          // 2^48: a wrap to 0 in 32 bits
    [InlineData(new[] { 3, 0, 28 }, "no pixels")]
    public void IdxDimensionsAreCheckedArithmetic(int[] dims, string fragment)
    {
        var path = Idx("images", 0x803, dims, 8);
        var e = Assert.ThrowsAny<MobileOneException>(() => IdxFile.ReadImages(path));
        Assert.Contains(fragment, e.Message);
    }

    [Theory]
    [InlineData("""{"width_multipliers": [1, 1, 1, 1], "num_blocks_per_stage": [2, 100000000, 10, 1]}""", "num_blocks_per_stage[1] must be between 1 and 128")]
    [InlineData("""{"width_multipliers": [1024, 512, 256, 128]}""", ResourceLimits.ModelVariable)]            // 65,536 channels in every stage
    [InlineData("""{"width_multipliers": [1, 1, 1, 1], "num_classes": 2147483647}""", ResourceLimits.ModelVariable)]
    public void AbsurdConfigurationsAreRefusedBeforeAllocation(string json, string fragment)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<MobileOneException>(() =>
        {
            using var model = new MobileOneModel(MobileOneConfig.FromJson(json, "absurd.json"));
        });
        Assert.Contains(fragment, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void ResizedWindowEqualsResizeThenCrop()
    {
        var rng = new Random(3);
        foreach (var (w, h) in new[] { (300, 7), (9, 500), (64, 48), (1000, 1) })
        {
            var pixels = new byte[w * h * 3];
            rng.NextBytes(pixels);
            var image = new RgbImage(w, h, pixels);
            var p = new ImagePreprocessor { Size = 32, CropPct = 0.875 };
            int target = p.ResizeSize;
            (int rw, int rh) = w <= h ? (target, target * h / w) : (target * w / h, target);
            var full = Resample.Bilinear(image, rw, rh);
            int top = (int)Math.Round((rh - 32) / 2.0, MidpointRounding.ToEven), left = (int)Math.Round((rw - 32) / 2.0, MidpointRounding.ToEven);
            var window = Resample.BilinearWindow(image, rw, rh, left, top, 32, 32);
            for (int y = 0; y < 32; y++)
                Assert.Equal(full.Pixels.AsSpan(((top + y) * rw + left) * 3, 96).ToArray(), window.Pixels.AsSpan(y * 96, 96).ToArray());
        }
    }

    [SkippableTheory]
    [InlineData(37, 11, 37, 29)]  // only the vertical pass runs (as for a training crop already at its width)
    [InlineData(23, 41, 50, 41)]  // only the horizontal pass runs
    [InlineData(300, 7, 64, 29)]  // both
    public void AWindowOfTheResizeEqualsPillowsResizeCropped(int w, int h, int rw, int rh)
    {
        PythonReference.Require();
        var pixels = new byte[w * h * 3];
        new Random(5).NextBytes(pixels);
        string src = Dir.File("src.rgb"), dst = Dir.File("dst.rgb");
        File.WriteAllBytes(src, pixels);
        var r = PythonReference.Run("-c",
            "import sys; from PIL import Image; w, h, rw, rh = map(int, sys.argv[3:]); " +
            "im = Image.frombytes('RGB', (w, h), open(sys.argv[1], 'rb').read()); " +
            "open(sys.argv[2], 'wb').write(im.resize((rw, rh), Image.BILINEAR).tobytes())",
            src, dst, $"{w}", $"{h}", $"{rw}", $"{rh}");
        Assert.True(r.ExitCode == 0, r.Error);
        var pillow = File.ReadAllBytes(dst);
        var window = Resample.BilinearWindow(new RgbImage(w, h, pixels), rw, rh, 3, 2, rw - 5, rh - 4);
        for (int y = 0; y < rh - 4; y++)
            Assert.Equal(pillow.AsSpan(((2 + y) * rw + 3) * 3, (rw - 5) * 3).ToArray(), window.Pixels.AsSpan(y * (rw - 5) * 3, (rw - 5) * 3).ToArray());
    }

    [Fact]
    public void AMillionByOneImageIsPreprocessedInBoundedMemory()
    {
        var image = new RgbImage(1_000_000, 1, Enumerable.Repeat((byte)200, 3_000_000).ToArray());
        long before = GC.GetAllocatedBytesForCurrentThread();
        var x = new ImagePreprocessor().Process(image);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20);
        Assert.Equal(3 * 224 * 224, x.Length);
        Assert.All(x.Take(224 * 224), v => Assert.Equal((200 / 255f - 0.485f) / 0.229f, v, 4));
    }

    [Fact]
    public void AnImageHeaderClaimingFourGigapixelsIsRefusedBeforeDecoding()
    {
        var path = Dir.File("screen.gif");
        File.WriteAllBytes(path, TestFiles.Gif(1, 1, screenWidth: 65535, screenHeight: 65535));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ResourceLimitException>(() => ImageDecoder.Decode(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
        Assert.Contains("65535x65535", e.Message);
        Assert.Contains(ResourceLimits.ImageVariable, e.Message);
    }
}
