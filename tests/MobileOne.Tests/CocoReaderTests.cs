using MobileOne.Detection.Coco;
using static MobileOne.Tests.CocoFiles;

namespace MobileOne.Tests;

/// <summary>The COCO readers and writer: what they keep, and every way a file can be wrong, each with a clear error.</summary>
[Collection(nameof(ResourceLimitsTests))] // one test lowers the process-wide file size limit
public sealed class CocoReaderTests : FileTest
{
    private string Gt(IEnumerable<Truth> objects, IEnumerable<Image>? images = null, IEnumerable<long>? categories = null) =>
        GroundTruth(Dir.File("gt.json"), images ?? [new Image(10, 100, 80), new Image(20, 50, 50)], categories ?? [90, 3, 17], objects);

    private string Text(string json)
    {
        var path = Dir.File("file.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string Fails(Action load) => Assert.ThrowsAny<MobileOneException>(load).Message;

    [Fact]
    public void ReadsTheDataSetWithContiguousLabels()
    {
        var path = Gt([new(1, 10, 17, [10, 20, 30, 40], Area: 1000), new(2, 10, 90, [80, 70, 50, 50], Crowd: true)]);
        var ds = CocoDataset.Load(path);
        Assert.Equal([10L, 20], ds.Images.Select(i => i.Id));
        Assert.Equal([3L, 17, 90], ds.Categories.Select(c => c.Id));
        Assert.Equal("category 17", ds.Categories[1].Name);
        Assert.Equal(3, ds.Labels.Count);
        Assert.Equal([1, 2, 3], new long[] { 3, 17, 90 }.Select(ds.Labels.LabelOf));
        Assert.Equal([3L, 17, 90], Enumerable.Range(1, 3).Select(ds.Labels.CategoryOf));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Labels.CategoryOf(CocoLabelMap.Background));
        var a = ds.Annotations[0];
        Assert.Equal((1L, 10L, 17L, new CocoBox(10, 20, 30, 40), 1000.0, false), (a.Id, a.ImageId, a.CategoryId, a.Box, a.Area, a.IsCrowd));
        Assert.Equal(new CocoBox(80, 70, 50, 50), ds.Annotations[1].Box); // kept as written, for scoring
        var targets = ds.Targets(0);
        Assert.Equal(2, targets.Count);
        // The crowd box runs past the 100x80 image: clipped to it for training.
        Assert.Equal([10f, 20, 40, 60, 80, 70, 100, 80], targets.Boxes);
        Assert.Equal([2L, 3], targets.Labels);
        Assert.Equal([false, true], targets.IsCrowd);
        Assert.Equal(0, ds.Targets(1).Count); // an image without objects is kept
        Assert.Equal(1, ds.IndexOfImage(20));
        Assert.Equal(-1, ds.IndexOfImage(30));
    }

    [Fact]
    public void AnEmptyBoxIsRefusedWithItsImageUnlessItIsACrowd()
    {
        var crowd = CocoDataset.Load(Gt([new(1, 20, 3, [60, 10, 5, 5], Crowd: true), new(2, 20, 3, [1, 1, 5, 5])]));
        Assert.Equal([2L], crowd.Annotations.Select(a => a.Id)); // the crowd region outside its 50x50 image is dropped
        var message = Fails(() => CocoDataset.Load(Gt([new(7, 20, 3, [60, 10, 5, 5])])));
        Assert.Contains("annotation 7 (image 20, '20.png')", message);
        Assert.Contains("empty inside the 50x50 image", message);
        Assert.Contains("empty inside", Fails(() => CocoDataset.Load(Gt([new(8, 20, 3, [10, 10, 0, 5])]))));
    }

    [Fact]
    public void AMissingImageFileIsNamed()
    {
        var images = Directory.CreateDirectory(Dir.File("images")).FullName;
        File.WriteAllBytes(Path.Combine(images, "10.png"), [1]);
        var message = Fails(() => CocoDataset.Load(Gt([]), images));
        Assert.Contains("image 20: its file '20.png' is not in", message);
        File.WriteAllBytes(Path.Combine(images, "20.png"), [1]);
        var ds = CocoDataset.Load(Gt([]), images);
        Assert.Equal(Path.Combine(images, "20.png"), ds.ImagePath(1));
        Assert.Contains("images folder not found", Fails(() => CocoDataset.Load(Gt([]), Dir.File("nowhere"))));
    }

    [Fact]
    public void AFileNameOutsideTheImagesFolderIsRefused() =>
        Assert.Contains("not a relative path inside the images folder",
            Fails(() => CocoDataset.Load(Gt([], [new Image(1, FileName: "../../etc/passwd")]))));

    [Theory]
    [InlineData(-640, "width -640 is not a whole number of pixels")]
    [InlineData(0, "width 0 is not a whole number of pixels")]
    [InlineData(2e9, "width 2000000000 is not a whole number of pixels")]
    public void AnImpossibleWidthIsRefused(double width, string expected)
    {
        var path = Text($$"""{"images": [{"id": 4, "file_name": "a.png", "width": {{width}}, "height": 10}], "categories": []}""");
        var message = Fails(() => CocoDataset.Load(path));
        Assert.Contains("image 4: " + expected, message);
        Assert.StartsWith(path, message);
    }

    [Fact]
    public void AnUnknownCategoryIsNamed() =>
        Assert.Contains("annotation 5 (image 10, '10.png'): category_id 4 is not a category of the file",
            Fails(() => CocoDataset.Load(Gt([new(5, 10, 4, [1, 1, 5, 5])]))));

    [Fact]
    public void AnUnknownImageIsNamed() =>
        Assert.Contains("annotation 5: image_id 11 is not an image of the file", Fails(() => CocoDataset.Load(Gt([new(5, 11, 3, [1, 1, 5, 5])]))));

    [Fact]
    public void NegativeOrNonFiniteValuesAreRefused()
    {
        Assert.Contains("has a negative value", Fails(() => CocoDataset.Load(Gt([new(5, 10, 3, [-1, 1, 5, 5])]))));
        Assert.Contains("area -3 is negative", Fails(() => CocoDataset.Load(Gt([new(5, 10, 3, [1, 1, 5, 5], Area: -3)]))));
        var path = Text("""{"images": [], "categories": [], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 1e999, 2], "area": 1}]}""");
        Assert.Contains("annotations[0]: 'bbox' must be a finite number", Fails(() => CocoDataset.Load(path)));
    }

    [Fact]
    public void DuplicateIdsAreRefused()
    {
        Assert.Contains("annotation id 5 appears twice", Fails(() => CocoDataset.Load(Gt([new(5, 10, 3, [1, 1, 5, 5]), new(5, 20, 3, [1, 1, 5, 5])]))));
        Assert.Contains("image id 10 appears twice", Fails(() => CocoDataset.Load(Gt([], [new Image(10), new Image(10)]))));
        Assert.Contains("category id 3 appears twice", Fails(() => CocoDataset.Load(Gt([], categories: [3, 3]))));
    }

    [Fact]
    public void TruncatedOrInvalidJsonIsRefused()
    {
        var full = File.ReadAllText(Gt([new(5, 10, 3, [1, 1, 5, 5])]));
        Assert.Contains("not valid JSON", Fails(() => CocoDataset.Load(Text(full[..(full.Length / 2)]))));
        Assert.Contains("not valid JSON (line 1", Fails(() => CocoDataset.Load(Text("{\"images\": [} garbage"))));
        Assert.Contains("empty file", Fails(() => CocoDataset.Load(Text(""))));
        Assert.Contains("file not found", Fails(() => CocoDataset.Load(Dir.File("none.json"))));
        Assert.Contains("no 'images' list", Fails(() => CocoDataset.Load(Text("""{"categories": []}"""))));
        Assert.Contains("'annotations': expected an array, found an object", Fails(() => CocoDataset.Load(Text("""{"images": [], "categories": [], "annotations": {}}"""))));
        Assert.Contains("annotations[0]: 'area' is missing",
            Fails(() => CocoDataset.Load(Text("""{"images": [], "categories": [], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 1, 1]}]}"""))));
        Assert.Contains("images[0]: 'id' must be a whole number", Fails(() => CocoDataset.Load(Text("""{"images": [{"id": 1.5}], "categories": []}"""))));
    }

    [Fact]
    public void DeepNestingIsRefused()
    {
        var deep = new string('[', 100) + new string(']', 100);
        var path = Text($$"""{"images": [], "categories": [], "annotations": [{"segmentation": {{deep}}}]}""");
        Assert.Contains("not valid JSON", Fails(() => CocoDataset.Load(path)));
    }

    [Fact]
    public void AbsurdCountsAndSizesAreRefused()
    {
        var path = Gt([], [new Image(1), new Image(2), new Image(3)]);
        Assert.Contains("'images': more than 2 entries", Fails(() => CocoDataset.Load(path, null, new CocoLimits { MaxImages = 2 })));
        var saved = ResourceLimits.Current;
        ResourceLimits.Current = saved with { MaxTensorBytes = 100 };
        try { Assert.Contains("above the limit", Fails(() => CocoDataset.Load(path))); }
        finally { ResourceLimits.Current = saved; }
    }

    [Fact]
    public void ResultsRoundTripAndAreChecked()
    {
        var truth = CocoDataset.Load(Gt([new(5, 10, 3, [1, 1, 5, 5])]));
        CocoDetection[] detections = [new(10, 3, new CocoBox(-0.5, 1.25, 5.1, 0), 0.1 + 0.2), new(20, 90, new CocoBox(1e-7, 3, 4, 5), 1)];
        var path = Dir.File("out/results.json");
        CocoResults.Save(path, detections);
        Assert.Equal(detections, CocoResults.Load(path, truth)); // exact doubles, negative x and zero height allowed
        Assert.Empty(CocoResults.Load(Text("[]"), truth));
        Assert.Empty(Directory.GetFiles(Dir.File("out"), ".*")); // no temporary file left
    }

    [Fact]
    public void ResultsForAnUnknownImageAreRefused()
    {
        var truth = CocoDataset.Load(Gt([]));
        var message = Fails(() => CocoResults.Load(Results(Dir.File("dt.json"), [new(10, 3, [1, 1, 2, 2], 0.5), new(11, 3, [1, 1, 2, 2], 0.5)]), truth));
        Assert.Contains("detection 1: image_id 11 is not an image of the ground truth", message);
        Assert.Contains("dt.json", message);
        Assert.Contains("detection 0: category_id 1 (image 10) is not a category",
            Fails(() => CocoResults.Load(Results(Dir.File("dt.json"), [new(10, 1, [1, 1, 2, 2], 0.5)]), truth)));
        Assert.Contains("has a negative size", Fails(() => CocoResults.Load(Results(Dir.File("dt.json"), [new(10, 3, [1, 1, -2, 2], 0.5)]), truth)));
        Assert.Contains("detection 0: 'score' is missing", Fails(() => CocoResults.Load(Text("""[{"image_id": 10, "category_id": 3, "bbox": [1, 1, 2, 2]}]"""), truth)));
        Assert.Contains("the file: expected an array, found an object", Fails(() => CocoResults.Load(Text("""{"image_id": 10}"""), truth)));
        Assert.Contains("'bbox' has 3 numbers, not 4", Fails(() => CocoResults.Load(Text("""[{"bbox": [1, 2, 3]}]"""), truth)));
        Assert.Contains("more than 1 entries", Fails(() => CocoResults.Load(Results(Dir.File("dt.json"), [new(10, 3, [1, 1, 2, 2], 0.5), new(10, 3, [1, 1, 2, 2], 0.4)]), truth, new CocoLimits { MaxObjects = 1 })));
    }
}
