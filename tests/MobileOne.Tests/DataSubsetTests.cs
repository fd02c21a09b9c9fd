using System.Text;
using MobileOne.Data;
using MobileOne.IO;
using MobileOne.Training;
using static MobileOne.Tests.CliTests;

namespace MobileOne.Tests;

/// <summary><c>data subset</c>: classes of an IDX data set written as IDX or ImageFolder data, read back by the project's own readers.</summary>
public sealed class DataSubsetTests : FileTest
{
    private static readonly int[] FineTuneClasses = [7, 8, 9];

    private static readonly string[] FineTuneNames = ["Sneaker", "Bag", "Ankle boot"];

    // The expected selection, found independently of DataSubset: the first n of each class, in file order.
    private static List<int> FirstPerClass(IImageDataset source, int[] classes, int n) =>
        classes.SelectMany(c => Enumerable.Range(0, source.Count).Where(i => source.Label(i) == c).Take(n)).Order().ToList();

    [SkippableFact]
    public void IdxSubsetReadsBackWithRenumberedLabelsTheSourcePixelsAndTheClassNames()
    {
        Fixtures.RequireFashionMnist();
        var dir = Dir.File("ft");
        var result = DataSubset.Create(TrainingData.FashionMnistName, new SubsetSpec(FineTuneClasses, TrainPerClass: 20, ValPerClass: 10), SubsetFormat.Idx, dir);
        Assert.Equal(FineTuneNames, result.ClassNames);
        Assert.Equal([0, 1, 2], result.Labels);
        Assert.Equal([20, 20, 20], result.TrainCounts);
        Assert.Equal([10, 10, 10], result.ValCounts);

        foreach (var (train, perClass) in new[] { (true, 20), (false, 10) })
        {
            var source = FashionMnist.Load(train);
            var subset = IdxFolder.Load(dir, train);
            var expected = FirstPerClass(source, FineTuneClasses, perClass);
            Assert.Equal(FineTuneNames, subset.ClassNames);
            Assert.False(subset.IsFashionMnist);
            Assert.Equal(expected.Count, subset.Count);
            for (int k = 0; k < subset.Count; k++)
            {
                Assert.Equal(Array.IndexOf(FineTuneClasses, source.Label(expected[k])), subset.Label(k));
                Assert.True(source.GrayPixels(expected[k]).SequenceEqual(subset.GrayPixels(k)), $"image {k} differs from source image {expected[k]}");
            }
        }
        // What train --data DIR reads: three classes, the folder's own preset.
        var options = TrainOptions.ForData(dir);
        Assert.Equal(3, MobileOne.Models.MobileOneConfig.FromJson(options.Model).NumClasses);
        var (trainSet, valSet) = TrainingData.Load(options.Data);
        Assert.Equal((60, 30), (trainSet.Count, valSet.Count));
    }

    [SkippableFact]
    public void ImageFolderSubsetIsGrayPngsInSafeClassFoldersWithTheSourcePixels()
    {
        Fixtures.RequireFashionMnist();
        var dir = Dir.File("ft");
        var result = DataSubset.Create(TrainingData.FashionMnistName, new SubsetSpec([0, .. FineTuneClasses], TrainPerClass: 5, ValPerClass: 3), SubsetFormat.ImageFolder, dir);
        Assert.Equal(["T-shirt_top", "Sneaker", "Bag", "Ankle boot"], result.Folders);
        Assert.Equal([3, 2, 1, 0], result.Labels); // an ImageFolder numbers its folders in ordinal order
        Assert.Equal(["train", "val"], Directory.GetDirectories(dir).Select(Path.GetFileName).Order());

        var train = ImageFolder.Load(Path.Combine(dir, "train"));
        var val = ImageFolder.Load(Path.Combine(dir, "val"), train.ClassNames);
        Assert.Equal(["Ankle boot", "Bag", "Sneaker", "T-shirt_top"], train.ClassNames);
        foreach (var (set, isTrain, perClass) in new[] { (train, true, 5), (val, false, 3) })
        {
            var source = FashionMnist.Load(isTrain);
            var files = Directory.GetFiles(Path.Combine(dir, isTrain ? "train" : "val"), "*.png", SearchOption.AllDirectories);
            // Each file is named by its source index; the set of them is the first images of each class.
            var indices = files.Select(f => int.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal(FirstPerClass(source, [0, .. FineTuneClasses], perClass), indices);
            foreach (var file in files)
            {
                int index = int.Parse(Path.GetFileNameWithoutExtension(file), System.Globalization.CultureInfo.InvariantCulture);
                int sourceClass = source.Label(index);
                Assert.Equal(result.Folders[Array.IndexOf(result.ClassNames.ToArray(), FashionMnist.Classes[sourceClass])], Path.GetFileName(Path.GetDirectoryName(file)));
                var png = File.ReadAllBytes(file);
                Assert.Equal((8, 0), (png[24], png[25])); // IHDR: bit depth 8, colour type 0 (grayscale)
                Assert.Equal(source.Image(index).Pixels, ImageDecoder.Decode(file).Pixels);
            }
            Assert.Equal(4 * perClass, set.Count);
        }
        var (trainSet, valSet) = TrainingData.Load(dir);
        Assert.Equal((20, 12), (trainSet.Count, valSet.Count));
    }

    [SkippableFact]
    public void ASeededSampleIsReproducibleAndDoesNotDependOnTheOtherClasses()
    {
        Fixtures.RequireFashionMnist();
        var test = FashionMnist.Load(train: false);
        var sample = DataSubset.Select(test, [7, 8], 50, seed: 3);
        Assert.Equal(sample, DataSubset.Select(test, [7, 8], 50, seed: 3));
        Assert.NotEqual(sample, DataSubset.Select(test, [7, 8], 50, seed: 4));
        Assert.NotEqual(sample, DataSubset.Select(test, [7, 8], 50));
        Assert.Equal(sample.Where(i => test.Label(i) == 7), DataSubset.Select(test, [7], 50, seed: 3));
        Assert.Equal(100, sample.Distinct().Count());
        Assert.Equal(sample.Order(), sample);
        Assert.Equal(1000, DataSubset.Select(test, [7], 0, seed: 3).Length); // 0: all of the class
        Assert.Equal(1000, DataSubset.Select(test, [7], 5000).Length);
    }

    [Fact]
    public void ASubsetOfAnIdxFolderWithNumberedClassesKeepsTheirNamesThroughASecondSubset()
    {
        var source = TestFiles.IdxFolder(Dir.File("src"), [0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0], [3, 2, 1, 0, 2], rows: 6, cols: 5);
        var first = DataSubset.Create(source, new SubsetSpec([3, 1, 2]), SubsetFormat.Idx, Dir.File("a"));
        Assert.Equal(["3", "1", "2"], first.ClassNames);
        Assert.Equal([3, 3, 3], first.TrainCounts);
        Assert.Equal([1, 1, 2], first.ValCounts);
        var second = DataSubset.Create(Dir.File("a"), new SubsetSpec([2, 0], TrainPerClass: 2), SubsetFormat.Idx, Dir.File("b"));
        Assert.Equal(["2", "3"], second.ClassNames);
        var back = IdxFolder.Load(Dir.File("b"), train: true);
        Assert.Equal(["2", "3"], back.ClassNames);
        Assert.Equal([0, 1, 0, 1], Enumerable.Range(0, back.Count).Select(back.Label)); // original labels 2, 3, 2, 3 in file order
    }

    [Theory]
    [InlineData("", "the class list is empty")]
    [InlineData("3,3", "class list '3,3': class 3 is listed twice")]
    [InlineData("0-4,2", "class 2 is listed twice")]
    [InlineData("5-3", "the range 5-3 runs backwards")]
    [InlineData("1,a", "'a' is not a class index")]
    [InlineData("1,,2", "'' is neither a class index nor a range")]
    [InlineData("1-2-3", "'1-2-3' is neither a class index nor a range")]
    [InlineData("-2", "'' is not a class index")]
    [InlineData("0-99999999999999999999", "class 99999999999999999999 is above 255")]
    [InlineData("256", "class 256 is above 255")]
    public void BadClassListsAreRefused(string list, string message) =>
        Assert.Contains(message, Assert.Throws<MobileOneException>(() => ClassList.Parse(list)).Message);

    [Fact]
    public void ClassListsExpandRangesInTheOrderGiven()
    {
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], ClassList.Parse("0-6"));
        Assert.Equal([9, 7, 8], ClassList.Parse("9, 7,8"));
        Assert.Equal([0, 2, 3, 4], ClassList.Parse("0,2-4"));
        Assert.Equal([255], ClassList.Parse("0255"));
    }

    [Fact]
    public void ClassesOutsideTheSourceOrWithoutImagesAreRefusedBeforeAnythingIsWritten()
    {
        var source = TestFiles.IdxFolder(Dir.File("src"), [0, 1, 2, 3, 0, 1, 2, 3], [1, 0, 1, 1], rows: 4, cols: 4);
        var outside = Assert.Throws<MobileOneException>(() => DataSubset.Create(source, new SubsetSpec([1, 4]), SubsetFormat.Idx, Dir.File("out")));
        Assert.Contains($"class 4 is not among the 4 classes (0-3) of IDX train (8 images of 4x4, 4 classes, {source})", outside.Message);
        var empty = Assert.Throws<MobileOneException>(() => DataSubset.Create(source, new SubsetSpec([1, 3]), SubsetFormat.ImageFolder, Dir.File("out")));
        Assert.Contains("class 3 (3) has no images in IDX test (4 images", empty.Message);
        Assert.False(Directory.Exists(Dir.File("out")));
        Assert.Empty(Directory.GetDirectories(Dir.Path, ".*"));
        var notIdx = Assert.Throws<MobileOneException>(() => DataSubset.Create(Dir.Path, new SubsetSpec([0]), SubsetFormat.Idx, Dir.File("out")));
        Assert.Contains($"{Dir.Path}: not IDX data", notIdx.Message);
    }

    [Fact]
    public void ANonEmptyOutputIsRefusedAndLeftAlone()
    {
        var source = TestFiles.IdxFolder(Dir.File("src"), [0, 1, 0, 1], [1, 0], rows: 3, cols: 3);
        var output = Directory.CreateDirectory(Dir.File("out")).FullName;
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
        var refused = Assert.Throws<MobileOneException>(() => DataSubset.Create(source, new SubsetSpec([1, 0]), SubsetFormat.Idx, output));
        Assert.Equal($"{output} is not empty; refusing to write into it (choose a new or empty folder)", refused.Message);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Contains("is a file", Assert.Throws<MobileOneException>(() => DataSubset.Create(source, new SubsetSpec([0]), SubsetFormat.Idx, Path.Combine(output, "keep.txt"))).Message);

        // An empty folder is used, and replaced by the complete subset.
        File.Delete(Path.Combine(output, "keep.txt"));
        DataSubset.Create(source, new SubsetSpec([1, 0]), SubsetFormat.Idx, output);
        Assert.Equal(5, Directory.GetFiles(output).Length);
    }

    [Fact]
    public void AFailedWriteLeavesNeitherTheTargetNorItsStagingFolder()
    {
        var target = Dir.File("out");
        var boom = Assert.Throws<IOException>(() => StagedFolder.Write(target, stage =>
        {
            File.WriteAllText(Path.Combine(stage, "half"), "written");
            throw new IOException("disk full");
        }));
        Assert.Equal("disk full", boom.Message);
        Assert.Empty(Directory.GetFileSystemEntries(Dir.Path));
    }

    [Theory]
    [InlineData("T-shirt/top", "T-shirt_top")]
    [InlineData("Ankle boot", "Ankle boot")]
    [InlineData(@"a\b:c*d?e""f<g>h|i", "a_b_c_d_e_f_g_h_i")]
    [InlineData(".hidden", "_hidden")]
    [InlineData("..", "_")]
    [InlineData("trailing. ", "trailing")]
    [InlineData("tab\there", "tab_here")]
    public void ClassNamesBecomeSafeFolderNames(string name, string folder) => Assert.Equal(folder, DataSubset.FolderName(name));

    [Fact]
    public void ClassesThatWouldShareAFolderAreRefused()
    {
        var source = TestFiles.IdxFolder(Dir.File("src"), [0, 1, 0, 1], [1, 0], rows: 3, cols: 3);
        File.WriteAllText(Path.Combine(source, IdxFolder.ClassNamesFile), "a/b\na_b\n");
        var clash = Assert.Throws<MobileOneException>(() => DataSubset.Create(source, new SubsetSpec([0, 1]), SubsetFormat.ImageFolder, Dir.File("out")));
        Assert.Contains("the classes 'a/b' and 'a_b' would share the folder 'a_b'", clash.Message);
    }

    [Theory]
    [InlineData("a\nb\nc\nd\n", null)]
    [InlineData("a\r\nb\r\nc\r\nd", null)]
    [InlineData("a\nb\nc\n", "names 3 classes, but the training labels go up to 3")]
    [InlineData("a\n\nc\nd\n", "line 2 is empty")]
    [InlineData("a\nb\na\nd\n", "line 3: the class name 'a' appears twice")]
    [InlineData("a\nb\u0007\nc\nd\n", "line 2: the class name 'b?' holds a control character")]
    [InlineData("", "line 1 is empty")]
    public void AClassNamesFileIsCheckedWhenAnIdxFolderIsRead(string text, string? problem)
    {
        var dir = TestFiles.IdxFolder(Dir.File("idx"), [0, 1, 2, 3], [3], rows: 2, cols: 2);
        var path = Path.Combine(dir, IdxFolder.ClassNamesFile);
        File.WriteAllText(path, text);
        if (problem is null)
        {
            Assert.Equal(["a", "b", "c", "d"], IdxFolder.Load(dir, train: false).ClassNames);
            return;
        }
        Assert.Contains($"{path}: {problem}", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);
    }

    [Fact]
    public void AClassNamesFileIsBoundedAndMustBeUtf8()
    {
        var dir = TestFiles.IdxFolder(Dir.File("idx"), [0, 1], [1], rows: 2, cols: 2);
        var path = Path.Combine(dir, IdxFolder.ClassNamesFile);
        File.WriteAllBytes(path, [(byte)'a', (byte)'\n', 0xC3, 0x28, (byte)'\n']);
        Assert.Contains($"{path}: not UTF-8 text", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);
        File.WriteAllText(path, new string('x', IdxClassNames.MaxBytes + 1));
        Assert.Contains($"{path}: 65,537 bytes; a class names file holds at most 65,536", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);
        File.WriteAllText(path, "a\n" + new string('x', 201) + "\n");
        Assert.Contains("line 2: a class name of 201 characters (at most 200)", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);
        File.WriteAllText(path, string.Concat(Enumerable.Range(0, 257).Select(i => $"c{i}\n")), Encoding.UTF8);
        Assert.Contains("257 class names; IDX labels are one byte, so at most 256", Assert.Throws<MobileOneException>(() => IdxFolder.Load(dir, train: true)).Message);
    }

    [SkippableFact]
    public void TheDataSubsetVerbPrintsTheClassesAndRefusesBadInputOnOneLine()
    {
        Fixtures.RequireFashionMnist();
        var dir = Dir.File("ft");
        var r = Run("data", "subset", "--from", "fashion-mnist", "--classes", "7-9", "--format", "imagefolder", "--out", dir, "--train-per-class", "4", "--val-per-class", "2", "--seed", "1");
        Assert.Equal(0, r.Code);
        Assert.Contains("Ankle boot", r.Out);
        Assert.Contains($"wrote 12 training and 6 validation images to {dir}", r.Out);
        Assert.Equal(12, ImageFolder.Load(Path.Combine(dir, "train")).Count);

        AssertCleanError(Run("data", "subset", "--from", "fashion-mnist", "--classes", "7,7", "--format", "idx", "--out", Dir.File("x")), 1, "error: class list '7,7': class 7 is listed twice");
        AssertCleanError(Run("data", "subset", "--from", "fashion-mnist", "--classes", "7", "--format", "idx", "--out", dir), 1, $"error: {dir} is not empty");
        AssertCleanError(Run("data", "subset", "--from", "fashion-mnist", "--classes", "7", "--format", "png", "--out", Dir.File("x")), 2, "'png'");
        AssertCleanError(Run("data", "subset", "--from", "fashion-mnist", "--classes", "7", "--format", "idx", "--out", Dir.File("x"), "--train-per-class", "-1"), 2, "--train-per-class must be at least 0");
        Assert.Single(Run("data", "subset", "--from", "fashion-mnist", "--classes", "10", "--format", "idx", "--out", Dir.File("x")).Err.TrimEnd().Split('\n'));
    }
}
