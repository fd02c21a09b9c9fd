using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;
using static MobileOne.Tests.CocoFiles;

namespace MobileOne.Tests;

/// <summary>COCO's box metric on cases small enough to compute by hand; the arithmetic is in the comments.</summary>
public sealed class CocoEvalTests : FileTest
{
    /// <summary>pycocotools' precision is tp / (tp + fp + eps), eps = 2^-52, so a perfect ranking scores 1 / (1 + eps), not 1.</summary>
    private const double Eps = 2.220446049250313e-16;

    private CocoStats Score(IEnumerable<Image> images, IEnumerable<long> categories, IEnumerable<Truth> objects, IEnumerable<Found> detections)
    {
        var truth = CocoDataset.Load(GroundTruth(Dir.File("gt.json"), images, categories, objects));
        return CocoEvaluator.Evaluate(truth, CocoResults.Load(Results(Dir.File("dt.json"), detections), truth));
    }

    private static void Near(double expected, double actual) => Assert.Equal(expected, actual, 1e-12);

    [Fact]
    public void OnePerfectDetectionScoresOne()
    {
        // One 20x20 object (area 400: small), found exactly: tp = [1], fp = [0] at every IoU threshold,
        // recall 1, precision 1 / (1 + eps) at all 101 recall points.
        var s = Score([new Image(7)], [3], [new(1, 7, 3, [10, 10, 20, 20])], [new(7, 3, [10, 10, 20, 20], 0.9)]);
        Near(1 / (1 + Eps), s.AP);
        Near(1, s.AP50);
        Near(1, s.AP75); // .75 must be one of the ten thresholds exactly, or AP75 would be -1
        Near(1, s.APs);
        Assert.Equal(-1, s.APm); // no medium or large ground truth
        Assert.Equal(-1, s.APl);
        Assert.Equal([1, 1, 1, 1, -1, -1], s.Values.Skip(6));
    }

    [Fact]
    public void ADuplicateDetectionCostsPrecision()
    {
        // Two objects; three detections ranked: A (0.9) on object 1, B (0.8) a duplicate of A, C (0.7) on object 2.
        // tp = [1, 1, 2], fp = [0, 1, 1]: recall [.5, .5, 1], precision [1, .5, 2/3], envelope [1, 2/3, 2/3].
        // Recall points 0.00..0.50 (51 of them) read rank 1 (precision 1); 0.51..1.00 (50) read rank 3 (2/3).
        // AP = (51 * 1 + 50 * 2/3) / 101 at every threshold (the boxes are exact).
        var s = Score([new Image(1)], [1],
            [new(1, 1, 1, [0, 0, 50, 50]), new(2, 1, 1, [100, 100, 50, 50])],
            [new(1, 1, [0, 0, 50, 50], 0.9), new(1, 1, [0, 0, 50, 50], 0.8), new(1, 1, [100, 100, 50, 50], 0.7)]);
        double ap = (51 / (1 + Eps) + 50 * (2 / (3 + Eps))) / 101;
        Near(ap, s.AP);
        Near(ap, s.AP50);
        Near(ap, s.APm); // both objects are 2,500 px^2: medium
        Near(1, s.AR100);
        Near(0.5, s.AR1); // one detection per image: A alone, half the objects
    }

    [Fact]
    public void ACrowdRegionAbsorbsDetections()
    {
        // A crowd region 100x100 and one regular object. Three detections inside the crowd rank first; each
        // overlaps it with IoU = intersection / detection area = 100 / 100 = 1 (by the ordinary union it would be
        // 100 / 10,000, a false positive), matches it (a crowd can be matched repeatedly) and is ignored.
        // What remains is the regular object's exact detection: AP 1 / (1 + eps). Were the three false
        // positives counted, precision at the only true positive would be 1/4.
        var s = Score([new Image(5)], [2],
            [new(10, 5, 2, [200, 200, 100, 100], Crowd: true), new(11, 5, 2, [0, 0, 40, 40])],
            [new(5, 2, [210, 210, 10, 10], 0.9), new(5, 2, [250, 250, 10, 10], 0.8), new(5, 2, [280, 220, 10, 10], 0.7), new(5, 2, [0, 0, 40, 40], 0.6)]);
        Near(1 / (1 + Eps), s.AP);
        Near(1, s.AR100);
        Assert.Equal(-1, s.APl); // the crowd is large but ignored: no regular large object
    }

    [Fact]
    public void SizeBandsUseTheAreaField()
    {
        // Three objects: small (box 10x10, area 100), medium (box 50x50 but area field 2,000: still medium),
        // and large by its area field (box 100x100, area 9,300 > 96^2 = 9,216). The small and large are found
        // (scores .8 and .9), the medium is not.
        // all: tp = [1, 2], recall [1/3, 2/3], precision 1: points 0.00..0.66 (67) read 1, the rest 0: AP = 67/101.
        // small: only the small object is regular; the large one's detection matches ignored ground truth and is
        //   ignored: AP 1. medium: both detections are matched to ignored objects, so ignored: tp = fp = [0, 0],
        //   recall 0, precision 0 at point 0 and nowhere else: AP 0. large: AP 1.
        var s = Score([new Image(1)], [1],
            [new(1, 1, 1, [0, 0, 10, 10]), new(2, 1, 1, [100, 0, 50, 50], Area: 2000), new(3, 1, 1, [200, 200, 100, 100], Area: 9300)],
            [new(1, 1, [0, 0, 10, 10], 0.8), new(1, 1, [200, 200, 100, 100], 0.9)]);
        Near(67 / (1 + Eps) / 101, s.AP);
        Near(1, s.APs);
        Assert.Equal(0, s.APm);
        Near(1, s.APl);
        Near(2.0 / 3, s.AR100);
        Assert.Equal([1.0, 0, 1], [s.ARs, s.ARm, s.ARl]);
    }

    [Fact]
    public void OnlyTheHundredBestDetectionsOfAnImageCount()
    {
        // Image 1: 100 false positives (far from the object) score above its exact detection, which ranks
        // 101st and is cut: AR100 = 0 and AP = 0. Then 99 false positives above the exact
        // detection, which ranks 100th and counts. Each is scored as a data set of its own.
        var far = Enumerable.Range(0, 100).Select(i => new double[] { 300 + i % 10 * 30, 300 + i / 10 * 15, 20, 10 }).ToArray();
        var cut = Score([new Image(1)], [4], [new(1, 1, 4, [0, 0, 50, 50])],
            far.Select((b, i) => new Found(1, 4, b, 0.99 - i * 0.001)).Append(new Found(1, 4, [0, 0, 50, 50], 0.5)));
        Assert.Equal(0, cut.AR100);
        Assert.Equal(0, cut.AP);
        // 99 false positives, then the match at rank 100: precision 1 / (99 + 1 + eps) at rank 100, 0 before; the
        // envelope makes it 1/100 at every rank, and every recall point reads 1/100. AR10 and AR1 see only the
        // false positives.
        var kept = Score([new Image(1)], [4], [new(1, 1, 4, [0, 0, 50, 50])],
            far.Take(99).Select((b, i) => new Found(1, 4, b, 0.99 - i * 0.001)).Append(new Found(1, 4, [0, 0, 50, 50], 0.5)));
        Near(1, kept.AR100);
        Assert.Equal(0, kept.AR10);
        Assert.Equal(0, kept.AR1);
        Near(1 / (100 + Eps), kept.AP);
    }

    [Fact]
    public void FalsePositivesOnAnEmptyImageCount()
    {
        // Image 1 holds one object, found (score .5); image 2 holds nothing, and a detection there scores .9.
        // Pooled: [FP, TP]: tp = [0, 1], fp = [1, 1], recall [0, 1], precision [0, 1/2], envelope [1/2, 1/2]: AP = 1/2.
        var s = Score([new Image(1), new Image(2)], [1],
            [new(1, 1, 1, [0, 0, 50, 50])],
            [new(1, 1, [0, 0, 50, 50], 0.5), new(2, 1, [10, 10, 50, 50], 0.9)]);
        Near(1 / (2 + Eps), s.AP);
        Near(1, s.AR100);
        Near(1, s.AR1); // one detection per image and category: image 1's is its match
    }

    [Fact]
    public void CategoriesWithoutGroundTruthAreLeftOutOfTheMean()
    {
        // Category 1: one object, found: AP 1. Category 5: detections but no ground truth: precision and recall
        // undefined (-1), left out of the mean rather than counted as 0. Category 9: nothing at all, likewise.
        var s = Score([new Image(1), new Image(2)], [1, 5, 9],
            [new(1, 1, 1, [0, 0, 50, 50])],
            [new(1, 1, [0, 0, 50, 50], 0.5), new(1, 5, [10, 10, 50, 50], 0.9), new(2, 5, [10, 10, 50, 50], 0.9)]);
        Near(1 / (1 + Eps), s.AP);
        Near(1, s.AR100);
        // Without any ground truth every statistic is undefined.
        var none = Score([new Image(1)], [1], [], [new(1, 1, [0, 0, 50, 50], 0.5)]);
        Assert.All(none.Values, v => Assert.Equal(-1, v));
    }

    [Fact]
    public void UnmatchedDetectionsOutsideTheBandAreIgnored()
    {
        // One small object, found; a large false positive (200x200) scores higher. In "all" it counts:
        // [FP, TP] gives AP 1/2. In "small" it is outside the band and unmatched, so ignored: AP 1.
        var s = Score([new Image(1)], [1], [new(1, 1, 1, [0, 0, 10, 10])],
            [new(1, 1, [0, 0, 10, 10], 0.5), new(1, 1, [300, 200, 200, 200], 0.9)]);
        Near(1 / (2 + Eps), s.AP);
        Near(1 / (1 + Eps), s.APs);
    }

    [Fact]
    public void ThresholdsAreNumpysLinspace()
    {
        PythonReference.Require();
        var (code, output, error) = PythonReference.Run("-c",
            "import numpy as np, json; print(json.dumps([np.linspace(.5, .95, 10).tolist(), np.linspace(0, 1, 101).tolist()]))");
        Assert.True(code == 0, error);
        var expected = System.Text.Json.JsonSerializer.Deserialize<double[][]>(output)!;
        Assert.Equal(expected[0], CocoEvalParameters.IouThresholds);
        Assert.Equal(expected[1], CocoEvalParameters.RecallThresholds);
    }

    [Fact]
    public void MeansSumAsNumpyDoes()
    {
        PythonReference.Require();
        var random = new Random(3);
        var values = Enumerable.Range(0, 80_800).Select(_ => random.NextDouble()).ToArray();
        int[] lengths = [1, 7, 8, 9, 127, 128, 129, 1000, 8192, 8193, 10_101, 20_000, 80_800];
        var path = Dir.File("values.json");
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(values));
        var (code, output, error) = PythonReference.Run("-c",
            $"import numpy as np, json, sys; v = np.array(json.load(open(sys.argv[1]))); print(json.dumps([float(np.mean(v[:n])) for n in {System.Text.Json.JsonSerializer.Serialize(lengths)}]))", path);
        Assert.True(code == 0, error);
        var expected = System.Text.Json.JsonSerializer.Deserialize<double[]>(output)!;
        Assert.Equal(expected, lengths.Select(n => PrecisionRecallTable.NumpySum(values.AsSpan(0, n)) / n));
    }
}
