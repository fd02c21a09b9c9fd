using System.Text.Json;
using MobileOne.Detection.Coco;
using MobileOne.Detection.Evaluation;
using static MobileOne.Tests.CocoFiles;

namespace MobileOne.Tests;

/// <summary>
/// The evaluator against python/coco_eval_reference.py, a numpy implementation of pycocotools' COCOeval
/// written separately from the same published algorithm, on random data sets with crowds, empty images,
/// more than 100 detections on an image, tied scores, ids that are neither consecutive nor sorted, and
/// categories with ground truth only or detections only. The twelve statistics must be equal to the bit.
/// </summary>
public sealed class CocoEvalParityTests : FileTest
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomCasesEqualTheReference(int seed)
    {
        PythonReference.Require();
        var (gt, dt) = RandomCase(new Random(seed), Dir);
        var truth = CocoDataset.Load(gt);
        var stats = CocoEvaluator.Evaluate(truth, CocoResults.Load(dt, truth));
        var script = Path.Combine(Fixtures.RepoRoot, "tests", "MobileOne.Tests", "python", "coco_eval_reference.py");
        var (code, output, error) = PythonReference.Run(script, gt, dt);
        Assert.True(code == 0, error);
        var reference = JsonSerializer.Deserialize<Dictionary<string, double>>(output)!;
        Assert.Equal(CocoStats.Names.Order(), reference.Keys.Order());
        foreach (var (name, value) in CocoStats.Names.Zip(stats.Values))
            Assert.True(reference[name] == value, $"seed {seed}, {name}: reference {reference[name]:R}, ours {value:R}");
        Assert.Contains(stats.Values, v => v > 0 && v < 1); // the case is not trivial
    }

    /// <summary>A random data set and results file; returns their paths.</summary>
    internal static (string GroundTruth, string Results) RandomCase(Random random, TempDir dir)
    {
        var imageIds = Distinct(random, 24, 1, 1_000_000);
        var categoryIds = Distinct(random, 10, 1, 200); // 10 x 101 x 10 precision entries: more than numpy sums in one buffer
        // The last category has ground truth only; the next to last detections only.
        var images = imageIds.Select(id => new Image(id, random.Next(64, 640), random.Next(64, 640))).ToList();
        var truths = new List<Truth>();
        var annotationIds = Distinct(random, 200, random.Next(2) == 0 ? 0 : 1, 10_000_000); // id 0 is allowed, and a pycocotools quirk
        foreach (var image in images.Skip(3)) // three images without objects
            for (int n = random.Next(0, 7); n > 0; n--)
            {
                var box = RandomBox(random, image);
                bool crowd = random.NextDouble() < 0.1;
                // The area field is the segment's, smaller than the box's: the size bands must use it.
                truths.Add(new Truth(annotationIds[truths.Count], image.Id, Pick(random, categoryIds, except: categoryIds[^2]), box,
                    Math.Round(box[2] * box[3] * (0.4 + 0.6 * random.NextDouble()), 2), crowd));
            }
        var found = new List<Found>();
        foreach (var t in truths.Where(t => t.CategoryId != categoryIds[^1]))
            for (int n = random.NextDouble() < 0.8 ? random.Next(1, 3) : 0; n > 0; n--)
                found.Add(new Found(t.ImageId, DetectedCategory(random, t.CategoryId, categoryIds), Jitter(random, t.Box), Score(random)));
        foreach (var image in images)
            for (int n = random.Next(0, 5); n > 0; n--)
                found.Add(new Found(image.Id, Pick(random, categoryIds, except: categoryIds[^1]), RandomBox(random, image), Score(random)));
        var crowded = images[3 + random.Next(images.Count - 3)];
        long crowdedCategory = truths.FirstOrDefault(t => t.ImageId == crowded.Id && t.CategoryId != categoryIds[^1])?.CategoryId ?? categoryIds[0];
        var onCrowded = truths.Where(t => t.ImageId == crowded.Id && t.CategoryId == crowdedCategory).ToList();
        for (int n = 0; n < 130; n++) // more than 100 on one image and category
            found.Add(new Found(crowded.Id, crowdedCategory, onCrowded.Count > 0 && n % 3 == 0 ? Jitter(random, onCrowded[n % onCrowded.Count].Box) : RandomBox(random, crowded), Score(random)));
        Shuffle(random, images);
        Shuffle(random, found);
        return (GroundTruth(dir.File("gt.json"), images, categoryIds, truths), Results(dir.File("dt.json"), found));
    }

    private static long[] Distinct(Random random, int count, int min, int max)
    {
        var ids = new HashSet<long>();
        if (min == 0) ids.Add(0);
        while (ids.Count < count) ids.Add(random.Next(Math.Max(min, 1), max));
        return [.. ids];
    }

    /// <summary>A box inside the image whose side runs from about 4 to 300 pixels, so every size band occurs.</summary>
    private static double[] RandomBox(Random random, Image image)
    {
        double w = Math.Min(image.Width - 1, Math.Round(Math.Exp(Math.Log(4) + random.NextDouble() * Math.Log(75)), 2));
        double h = Math.Min(image.Height - 1, Math.Round(w * (0.5 + random.NextDouble()), 2));
        return [Math.Round(random.NextDouble() * (image.Width - w), 2), Math.Round(random.NextDouble() * (image.Height - h), 2), w, h];
    }

    private static double[] Jitter(Random random, double[] b)
    {
        double J(double scale) => (random.NextDouble() - 0.5) * 0.4 * scale;
        return [Math.Round(Math.Max(0, b[0] + J(b[2])), 2), Math.Round(Math.Max(0, b[1] + J(b[3])), 2),
                Math.Round(Math.Max(0.5, b[2] + J(b[2])), 2), Math.Round(Math.Max(0.5, b[3] + J(b[3])), 2)];
    }

    /// <summary>Two decimals, so that scores tie and the stable orderings matter.</summary>
    private static double Score(Random random) => Math.Round(random.NextDouble(), 2);

    private static long DetectedCategory(Random random, long truth, long[] categories) =>
        random.NextDouble() < 0.9 ? truth : Pick(random, categories, except: categories[^1]);

    private static long Pick(Random random, long[] values, long except)
    {
        while (true)
        {
            var v = values[random.Next(values.Length)];
            if (v != except) return v;
        }
    }

    private static void Shuffle<T>(Random random, List<T> list)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
