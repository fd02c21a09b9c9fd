namespace MobileOne.Segmentation;

/// <summary>
/// Scores a folder of predicted masks against a folder of true ones: PNG files paired by name, every pair the
/// same size, one <see cref="ConfusionMatrix"/> over all of them.
/// </summary>
public static class SegmentationScorer
{
    /// <summary>The most mask files a folder may hold.</summary>
    public const int MaxFiles = 1_000_000;

    /// <summary>
    /// The scores of the masks in <paramref name="predictedDir"/> against those of <paramref name="truthDir"/>
    /// (<c>*.png</c>, paired by file name; a file without its pair is an error naming it).
    /// </summary>
    public static SegmentationScore ScoreFolders(string truthDir, string predictedDir, int numClasses, int ignore = 255)
    {
        var matrix = new ConfusionMatrix(numClasses, ignore);
        var truths = MaskFiles(truthDir, "ground-truth");
        var predictions = MaskFiles(predictedDir, "prediction");
        if (truths.Count == 0) throw new MobileOneException($"{truthDir}: no PNG masks");
        if (truths.Keys.FirstOrDefault(name => !predictions.ContainsKey(name)) is { } missing)
            throw new MobileOneException($"{Path.Combine(predictedDir, missing)}: no prediction for the ground truth {truths[missing]}");
        if (predictions.Keys.FirstOrDefault(name => !truths.ContainsKey(name)) is { } extra)
            throw new MobileOneException($"{predictions[extra]}: a prediction without ground truth in {truthDir}");
        foreach (var (name, truthPath) in truths.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            AddPair(matrix, truthPath, predictions[name]);
        return matrix.Score();
    }

    /// <summary>Adds one pair of masks to <paramref name="matrix"/>; a size mismatch is an error naming both files.</summary>
    public static void AddPair(ConfusionMatrix matrix, string truthPath, string predictedPath)
    {
        var truth = MaskPng.Read(truthPath);
        var predicted = MaskPng.Read(predictedPath);
        if ((truth.Width, truth.Height) != (predicted.Width, predicted.Height))
            throw new MobileOneException($"{predictedPath}: {predicted.Width}x{predicted.Height} pixels, its ground truth {truthPath} {truth.Width}x{truth.Height}");
        matrix.Add(truth.Labels, predicted.Labels, truthPath, predictedPath);
    }

    private static Dictionary<string, string> MaskFiles(string dir, string what)
    {
        if (!Directory.Exists(dir)) throw new MobileOneException($"{dir}: no such {what} folder");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(dir, "*.png"))
        {
            if (files.Count == MaxFiles) throw new MobileOneException($"{dir}: more than {MaxFiles:N0} masks");
            files[Path.GetFileName(path)] = path;
        }
        return files;
    }
}
