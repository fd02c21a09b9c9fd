using System.Text.Json;
using MobileOne.Data;
using MobileOne.Models;
using MobileOne.Training;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary>Folders of MNIST-format IDX files: loading, refusals, the presets they imply, and training on them from the CLI.</summary>
public sealed class IdxFolderTests : FileTest
{
    private static readonly byte[] TrainLabels = [0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0];

    // Fashion-MNIST's first training labels (the published files'), which is how a folder is recognised as Fashion-MNIST.
    private static readonly byte[] FashionLabels = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4, 3, 1, 4, 8, 4, 3, 0, 2, 4, 4, 5, 3, 1, 8];

    private string Folder(string name = "idx", int rows = 6, int cols = 5) =>
        TestFiles.IdxFolder(Dir.File(name), TrainLabels, [1, 0, 1, 1], rows, cols);

    [Fact]
    public void BothSplitsLoadWithTheClassesOfTheTrainingLabels()
    {
        var dir = Folder();
        Assert.True(TrainingData.IsIdx(dir));
        var train = IdxFolder.Load(dir, train: true);
        var test = IdxFolder.Load(dir, train: false);
        Assert.Equal(["0", "1", "2", "3"], train.ClassNames);
        Assert.Equal(train.ClassNames, test.ClassNames); // the test split names only classes 0 and 1
        Assert.False(train.IsFashionMnist);
        Assert.Equal((12, 4), (train.Count, test.Count));
        Assert.Equal((5, 6), (train.Width, train.Height));
        Assert.Equal(TrainLabels, Enumerable.Range(0, train.Count).Select(i => (byte)train.Label(i)));
        Assert.StartsWith("IDX train (12 images of 5x6, 4 classes", train.Description);

        // Gray levels become equal R, G and B, image by image in file order.
        var pixels = TestFiles.Pixels(TrainLabels, 6, 5, seed: 0);
        var image = train.Image(7);
        Assert.Equal((5, 6), (image.Width, image.Height));
        Assert.Equal(pixels.Skip(7 * 30).Take(30).SelectMany(v => new[] { v, v, v }), image.Pixels);

        double mean = pixels.Average(v => v / 255.0), std = Math.Sqrt(pixels.Average(v => Math.Pow(v / 255.0 - mean, 2)));
        var stats = train.PixelStatistics();
        Assert.Equal(mean, stats.Mean, 1e-6);
        Assert.Equal(std, stats.Std, 1e-6);
    }

    [Fact]
    public void BrokenFoldersAreRefusedNamingTheFile()
    {
        var dir = Folder();
        File.Delete(Path.Combine(dir, "t10k-images-idx3-ubyte"));
        Assert.True(TrainingData.IsIdx(dir)); // three of the four files: still an IDX folder, with one missing
        var missing = Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: false));
        Assert.Contains("t10k-images-idx3-ubyte[.gz] not found", missing.Message);
        Assert.Contains("train-labels-idx1-ubyte", missing.Message); // and what the folder should hold

        var labels = Path.Combine(dir, "train-labels-idx1-ubyte");
        TestFiles.Idx(labels, 0x801, [11], TrainLabels[..11], gzip: false);
        Assert.Contains($"{labels}: 11 labels for 12 images in", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);

        // More than 256 classes cannot be stored one byte per label: 32-bit labels are refused by name.
        TestFiles.Idx(labels, 0xC01, [3], [0, 0, 0, 1, 0, 0, 1, 44, 0, 0, 0, 2], gzip: false);
        var wide = Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true));
        Assert.Contains(labels, wide.Message);
        Assert.Contains("0xc01", wide.Message);

        TestFiles.Idx(labels, 0x801, [0], [], gzip: false);
        Assert.Contains($"{labels}: holds no labels", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);

        var other = Folder("other");
        var testLabels = Path.Combine(other, "t10k-labels-idx1-ubyte.gz");
        TestFiles.Idx(testLabels, 0x801, [4], [1, 7, 0, 2]);
        var outside = Assert.Throws<MobileOneException>(() => IdxFolder.Load(other, train: false));
        Assert.Contains($"{testLabels}: label 7 is outside the 4 classes (0-3)", outside.Message);
    }

    [Fact]
    public void PrefixedNamesAsEmnistsAreFoundWhenOneDataSetHasThem()
    {
        var dir = Folder();
        foreach (var file in Directory.GetFiles(dir))
            File.Move(file, Path.Combine(dir, "emnist-digits-" + Path.GetFileName(file)));
        Assert.True(TrainingData.IsIdx(dir));
        Assert.Equal(TrainLabels.Length, IdxFolder.Load(dir, train: true).Count);
        Assert.Equal(4, IdxFolder.Load(dir, train: false).Count);

        File.Copy(Path.Combine(dir, "emnist-digits-train-labels-idx1-ubyte"), Path.Combine(dir, "emnist-letters-train-labels-idx1-ubyte.gz"));
        var two = Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true));
        Assert.Contains("2 files could be the train-labels-idx1-ubyte file (emnist-digits-train-labels-idx1-ubyte, emnist-letters-train-labels-idx1-ubyte.gz)", two.Message);
    }

    [Fact]
    public void EachKindOfDataHasItsPreset()
    {
        var dir = Folder();
        var train = IdxFolder.Load(dir, train: true);
        var idx = TrainOptions.ForData(dir);
        Assert.Equal(dir, idx.Data);
        Assert.Equal((5, 1, 1.0, false), (idx.ImageSize, idx.Channels, idx.EvalCropPct, idx.HorizontalFlip));
        Assert.Equal(Enumerable.Repeat(train.PixelStatistics().Mean, 3), idx.Mean);
        Assert.Equal(Enumerable.Repeat(train.PixelStatistics().Std, 3), idx.Std);
        Assert.Equal(QuickstartModel.SmallImages(channels: 1, numClasses: 4), MobileOneConfig.FromJson(idx.Model));
        var rgb = TrainOptions.ForData(dir, channels: 3);
        Assert.Equal(3, rgb.Channels);
        Assert.Equal(3, MobileOneConfig.FromJson(rgb.Model).InChannels);

        // A folder holding Fashion-MNIST gets Fashion-MNIST's names and preset, whatever the folder's name.
        var fashion = TestFiles.IdxFolder(Dir.File("downloaded"), FashionLabels, [9, 2, 1], 28, 28);
        var set = IdxFolder.Load(fashion, train: false);
        Assert.True(set.IsFashionMnist);
        Assert.Equal(FashionMnist.Classes, set.ClassNames);
        Assert.StartsWith("Fashion-MNIST test (3 images", set.Description);
        Assert.Equal((TrainOptions.FashionMnist() with { Data = fashion }).ToJson(), TrainOptions.ForData(fashion).ToJson());

        // An ImageFolder root keeps ImageNet's preprocessing and S0.
        Directory.CreateDirectory(Dir.File("images/train/cat"));
        var folder = TrainOptions.ForData(Dir.File("images"));
        Assert.False(TrainingData.IsIdx(Dir.File("images")));
        Assert.Equal((224, 3, true), (folder.ImageSize, folder.Channels, folder.HorizontalFlip));
        Assert.Equal(MobileOneVariants.S0(), MobileOneConfig.FromJson(folder.Model));

        // Neither kind: the message says what a data folder holds, and names no command-line option.
        Directory.CreateDirectory(Dir.File("empty"));
        var neither = Assert.Throws<MobileOneException>(() => TrainingData.Load(Dir.File("empty")));
        Assert.Contains($"{Dir.File("empty")}: not a data set", neither.Message);
        Assert.Contains("train-images-idx3-ubyte", neither.Message);
        Assert.DoesNotContain("--", neither.Message);
    }

    [SkippableFact]
    public void DebiansFashionMnistIsRecognisedInAnyFolderAndItsPresetMatchesItsPixels()
    {
        Fixtures.RequireFashionMnist();
        var copy = Directory.CreateDirectory(Dir.File("fashion")).FullName;
        foreach (var name in IdxFolder.FileNames)
            File.CreateSymbolicLink(Path.Combine(copy, name + ".gz"), Path.Combine(FashionMnist.DefaultRoot, name + ".gz"));
        var train = IdxFolder.Load(copy, train: true);
        Assert.True(train.IsFashionMnist);
        Assert.Equal(60_000, train.Count);
        var (mean, std) = train.PixelStatistics();
        Assert.Equal(FashionMnist.Mean, mean, 1e-4);
        Assert.Equal(FashionMnist.Std, std, 1e-4);
        Assert.Equal((TrainOptions.FashionMnist() with { Data = copy }).ToJson(), TrainOptions.ForData(copy).ToJson());
    }

    [Fact]
    public void TrainAndEvalTakeAnIdxFolder()
    {
        byte[] train = [.. Enumerable.Range(0, 48).Select(i => (byte)(i % 3))], test = [.. Enumerable.Range(0, 15).Select(i => (byte)(i % 3))];
        var data = TestFiles.IdxFolder(Dir.File("digits"), train, test, 12, 12);
        var run = Dir.File("run");
        var r = Run("train", "--data", data, "--epochs", "1", "--batch", "16", "--warmup-epochs", "0", "--workers", "1", "--out", run);
        Assert.True(r.Code == 0, r.Err + r.Out);
        Assert.Contains("IDX train (48 images of 12x12, 3 classes", r.Out);

        // The run's recipe is the folder's preset, and the model fits its classes and its one channel.
        var options = new RunFolder(run).ReadConfig();
        Assert.Equal((12, 1, false), (options.ImageSize, options.Channels, options.HorizontalFlip));
        Assert.Equal(TrainOptions.ForData(data).Mean, options.Mean);
        Assert.Equal(QuickstartModel.SmallImages(channels: 1, numClasses: 3), MobileOneConfig.FromJson(options.Model));

        // Evaluated with the run's config.json beside the checkpoint, and without it (the folder's preset;
        // model_config.json stays, since a stride-1 stage 4 cannot be read off the weights' shapes).
        var alone = Directory.CreateDirectory(Dir.File("alone")).FullName;
        foreach (var file in new[] { "last.pth.tar", "model_config.json" }) File.Copy(Path.Combine(run, file), Path.Combine(alone, file));
        foreach (var checkpoint in new[] { Path.Combine(run, "last.pth.tar"), Path.Combine(alone, "last.pth.tar") })
        {
            var e = Run("eval", "--data", data, "--checkpoint", checkpoint, "--json");
            Assert.True(e.Code == 0, e.Err);
            var json = JsonDocument.Parse(e.Out).RootElement;
            Assert.Equal(15, json.GetProperty("images").GetInt32());
            Assert.Equal(["0", "1", "2"], json.GetProperty("per_class").EnumerateArray().Select(c => c.GetProperty("class").GetString()));
            Assert.True(json.GetProperty("fused_agreement").GetDouble() >= 0.99);
        }

        File.Delete(Path.Combine(data, "t10k-labels-idx1-ubyte.gz"));
        AssertCleanError(Run("train", "--data", data, "--epochs", "1", "--out", Dir.File("run2")), 1, "t10k-labels-idx1-ubyte[.gz] not found");
        AssertCleanError(Run("eval", "--data", data, "--checkpoint", Path.Combine(run, "last.pth.tar")), 1, "t10k-labels-idx1-ubyte[.gz] not found");
        Directory.CreateDirectory(Dir.File("nothing"));
        AssertCleanError(Run("train", "--data", Dir.File("nothing"), "--epochs", "1", "--out", Dir.File("run3")), 1, "not a data set");
    }
}
