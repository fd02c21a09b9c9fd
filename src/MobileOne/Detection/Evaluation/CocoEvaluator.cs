using MobileOne.Detection.Coco;

namespace MobileOne.Detection.Evaluation;

/// <summary>
/// COCO's box evaluation, computing what pycocotools' <c>COCOeval</c> computes with <c>iouType='bbox'</c> and
/// its default parameters, to the last bit wherever the arithmetic allows.
/// </summary>
/// <remarks>
/// <para>Every image and category of the ground truth is evaluated (ids need not be consecutive). Per image
/// and category, detections are ranked by descending score (stably) and the best 100 kept; at each IoU
/// threshold .50:.05:.95 they are matched greedily to the ground truth; a crowd region may absorb any
/// number of detections, with IoU taken over the detection's own area; ground truth outside a size band
/// (by its <c>area</c> field) or crowded is ignored, as are the detections matched to it and unmatched
/// detections whose box area is outside the band.</para>
/// <para>Per category, size band and detection budget (1, 10, 100), the images' detections are pooled in
/// ascending image id order and ranked stably by score; precision is made monotone (its envelope) and read
/// at 101 recall points. A statistic averages the entries that are defined (a category without regular
/// ground truth in the band has none) and is -1 when none is.</para>
/// <para>One quirk is kept for equal results: a match to a ground-truth annotation whose id is 0 counts as
/// no match, as in pycocotools; give annotations ids from 1.</para>
/// </remarks>
public static class CocoEvaluator
{
    /// <summary>Scores <paramref name="detections"/> against <paramref name="groundTruth"/>.</summary>
    /// <exception cref="MobileOneException">A detection names an image or category not in the ground truth, or holds a box or score that is not finite or a negative size.</exception>
    public static CocoStats Evaluate(CocoDataset groundTruth, IReadOnlyList<CocoDetection> detections)
    {
        var cells = Group(groundTruth, detections);
        var imageIds = groundTruth.Images.Select(i => i.Id).Order().ToArray();
        var categoryIds = groundTruth.Labels.CategoryIds;
        var table = new PrecisionRecallTable(categoryIds.Count);
        for (int k = 0; k < categoryIds.Count; k++)
        {
            var matches = imageIds.Select(image => cells.GetValueOrDefault((image, categoryIds[k]))).OfType<ImageCategoryMatch>().ToArray();
            for (int a = 0; a < CocoEvalParameters.AreaRanges.Length; a++)
            {
                var (_, min, max) = CocoEvalParameters.AreaRanges[a];
                var results = matches.Select(match => match.Evaluate(min, max)).ToArray();
                for (int m = 0; m < CocoEvalParameters.MaxDetections.Length; m++) table.Accumulate(results, k, a, m);
            }
        }
        return CocoStats.FromValues(CocoStats.Definitions.Select(table.Summarize).ToArray());
    }

    /// <summary>The ground truth and detections of each (image, category) that has any, each in its file's order.</summary>
    private static Dictionary<(long Image, long Category), ImageCategoryMatch> Group(CocoDataset groundTruth, IReadOnlyList<CocoDetection> detections)
    {
        var cells = new Dictionary<(long, long), ImageCategoryMatch>();
        ImageCategoryMatch Cell(long image, long category)
        {
            if (!cells.TryGetValue((image, category), out var cell)) cells.Add((image, category), cell = new ImageCategoryMatch());
            return cell;
        }
        foreach (var a in groundTruth.Annotations) Cell(a.ImageId, a.CategoryId).Add(a);
        for (int i = 0; i < detections.Count; i++)
        {
            var problem = CocoResults.Problem(detections[i], groundTruth);
            if (problem is not null) throw new MobileOneException($"detection {i}: {problem}");
            Cell(detections[i].ImageId, detections[i].CategoryId).Add(detections[i]);
        }
        return cells;
    }
}
