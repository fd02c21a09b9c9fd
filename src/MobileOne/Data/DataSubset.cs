using MobileOne.IO;
using MobileOne.Training;

namespace MobileOne.Data;

/// <summary>The layouts <see cref="DataSubset.Create"/> writes.</summary>
public enum SubsetFormat
{
    /// <summary>An IDX folder (the four files, plain) with its <see cref="IdxFolder.ClassNamesFile"/>.</summary>
    Idx,

    /// <summary><c>train/CLASS/NNNNN.png</c> and <c>val/CLASS/NNNNN.png</c>, 8-bit gray.</summary>
    ImageFolder,
}

/// <summary>
/// What a subset takes: the source classes, in the order that numbers them 0 to n-1; how many images of each
/// class from the training split and from the test split (0: all of them); and a seed that, when given,
/// draws those images at random (reproducibly) instead of taking the first ones.
/// </summary>
public sealed record SubsetSpec(IReadOnlyList<int> Classes, int TrainPerClass = 0, int ValPerClass = 0, int? Seed = null);

/// <summary>
/// A written subset, class by class in the order listed: the class names, the class folders (the names made
/// safe for a file system; for IDX output the names themselves), the label each class has when the subset
/// is read back (its position in the list for IDX; for an ImageFolder, which numbers its folders in ordinal
/// order, the folder's rank), and the images of each split.
/// </summary>
public sealed record SubsetResult(string Dir, IReadOnlyList<string> ClassNames, IReadOnlyList<string> Folders, IReadOnlyList<int> Labels, int[] TrainCounts, int[] ValCounts);

/// <summary>
/// Some classes of an IDX data set (Fashion-MNIST, MNIST, ...) written as a data set of their own, for
/// pretraining on some classes and fine-tuning on others: labels renumbered 0 to n-1 in the order the
/// classes are listed, the class names kept, images byte for byte the source's, in the source's order.
/// </summary>
public static class DataSubset
{
    /// <summary>The ImageFolder splits: the source's training split and its test split.</summary>
    public const string TrainFolder = "train", ValFolder = "val";

    private const int ProgressEvery = 10_000;

    private sealed record Part(IdxFolder Split, int[] Indices, byte[] Labels);

    /// <summary>
    /// The indices (ascending) of the images of <paramref name="classes"/> in <paramref name="split"/>: per class
    /// the first <paramref name="perClass"/> in file order, or with a <paramref name="seed"/> as many drawn at
    /// random; all of the class when <paramref name="perClass"/> is 0 or the class has no more.
    /// </summary>
    public static int[] Select(IImageDataset split, IReadOnlyList<int> classes, int perClass, int? seed = null)
    {
        if (perClass < 0) throw new MobileOneException($"images per class must be 0 (all) or more, found {perClass}");
        var byClass = classes.Distinct().ToDictionary(c => c, _ => new List<int>());
        for (int i = 0; i < split.Count; i++)
            if (byClass.TryGetValue(split.Label(i), out var members)) members.Add(i);
        return byClass.SelectMany(kv => TakeClass(kv.Value, perClass, seed, kv.Key)).Order().ToArray();
    }

    /// <summary>The labels of the images at <paramref name="indices"/>, renumbered as positions in <paramref name="classes"/>.</summary>
    public static byte[] RemappedLabels(IImageDataset split, IReadOnlyList<int> indices, IReadOnlyList<int> classes)
    {
        var position = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => checked((byte)p.i));
        return indices.Select(i => position[split.Label(i)]).ToArray();
    }

    /// <summary>
    /// Reads <paramref name="source"/> (<c>fashion-mnist</c> or a folder of IDX files), selects the subset and
    /// writes it to <paramref name="dir"/>, which must be absent or empty; the folder appears complete or not at all.
    /// Writing many PNGs takes a while: <paramref name="progress"/> hears how many are written every few thousand.
    /// </summary>
    public static SubsetResult Create(string source, SubsetSpec spec, SubsetFormat format, string dir, Action<string>? progress = null)
    {
        StagedFolder.RequireEmpty(Path.GetFullPath(dir)); // before the seconds that reading takes
        if (!TrainingData.IsIdx(source))
            throw new MobileOneException($"{source}: not IDX data; a subset is taken from '{TrainingData.FashionMnistName}' or a folder of {string.Join(", ", IdxFolder.FileNames)}");
        var train = TrainingData.LoadIdx(source, train: true);
        var val = TrainingData.LoadIdx(source, train: false);
        ClassList.CheckRange(spec.Classes, train.ClassNames.Count, train.Description);
        var names = spec.Classes.Select(c => train.ClassNames[c]).ToList();
        var folders = format == SubsetFormat.ImageFolder ? FolderNames(names) : names;
        var trainPart = TakePart(train, spec, spec.TrainPerClass, names);
        var valPart = TakePart(val, spec, spec.ValPerClass, names);
        int total = trainPart.Indices.Length + valPart.Indices.Length, done = 0;
        void Written()
        {
            if (++done % ProgressEvery == 0) progress?.Invoke($"{done:N0} of {total:N0} images written");
        }
        StagedFolder.Write(dir, stage =>
        {
            if (format == SubsetFormat.Idx) WriteIdx(stage, names, trainPart, valPart);
            else
            {
                WriteImages(Path.Combine(stage, TrainFolder), folders, trainPart, Written);
                WriteImages(Path.Combine(stage, ValFolder), folders, valPart, Written);
            }
        });
        var labels = format == SubsetFormat.Idx ? Enumerable.Range(0, names.Count).ToList() : folders.Select(f => folders.Count(g => string.CompareOrdinal(g, f) < 0)).ToList();
        return new SubsetResult(Path.GetFullPath(dir), names, folders, labels, Counts(trainPart, names.Count), Counts(valPart, names.Count));
    }

    /// <summary>
    /// A class name made a folder name on any file system: path separators and the characters Windows
    /// forbids become '_', trailing dots and spaces go, and a leading dot (a hidden folder, which ImageFolder
    /// skips) becomes '_'. "T-shirt/top" becomes "T-shirt_top".
    /// </summary>
    public static string FolderName(string className)
    {
        var safe = new string(className.Select(c => char.IsControl(c) || "/\\:*?\"<>|".Contains(c) ? '_' : c).ToArray()).TrimEnd('.', ' ');
        if (safe.StartsWith('.')) safe = "_" + safe[1..];
        return safe.Length == 0 ? "_" : safe;
    }

    private static IReadOnlyList<string> FolderNames(IReadOnlyList<string> names)
    {
        var folders = names.Select(FolderName).ToList();
        // Case-insensitive: on Windows and macOS "Bag" and "bag" are one folder.
        var owner = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < names.Count; i++)
            if (!owner.TryAdd(folders[i], names[i]))
                throw new MobileOneException($"the classes '{owner[folders[i]]}' and '{names[i]}' would share the folder '{folders[i]}'");
        return folders;
    }

    private static Part TakePart(IdxFolder split, SubsetSpec spec, int perClass, IReadOnlyList<string> names)
    {
        var indices = Select(split, spec.Classes, perClass, spec.Seed);
        var part = new Part(split, indices, RemappedLabels(split, indices, spec.Classes));
        var counts = Counts(part, names.Count);
        int empty = Array.IndexOf(counts, 0);
        if (empty >= 0) throw new MobileOneException($"class {spec.Classes[empty]} ({names[empty]}) has no images in {split.Description}");
        return part;
    }

    private static IEnumerable<int> TakeClass(List<int> members, int perClass, int? seed, int sourceClass)
    {
        if (perClass == 0 || perClass >= members.Count) return members;
        if (seed is null) return members.Take(perClass);
        // Seeded by class too: a class's sample does not change with the other classes listed.
        var rng = new Random(unchecked(seed.Value * 7919 + sourceClass));
        var shuffled = members.ToArray();
        for (int i = 0; i < perClass; i++)
        {
            int j = rng.Next(i, shuffled.Length);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
        }
        return shuffled.Take(perClass);
    }

    private static int[] Counts(Part part, int classes)
    {
        var counts = new int[classes];
        foreach (var label in part.Labels) counts[label]++;
        return counts;
    }

    private static void WriteIdx(string dir, IReadOnlyList<string> names, Part train, Part val)
    {
        WriteIdxSplit(Path.Combine(dir, IdxFolder.TrainImagesFile), Path.Combine(dir, IdxFolder.TrainLabelsFile), train);
        WriteIdxSplit(Path.Combine(dir, IdxFolder.TestImagesFile), Path.Combine(dir, IdxFolder.TestLabelsFile), val);
        IdxClassNames.Write(Path.Combine(dir, IdxFolder.ClassNamesFile), names);
    }

    private static void WriteIdxSplit(string imagesPath, string labelsPath, Part part)
    {
        int size = part.Split.Width * part.Split.Height;
        var pixels = new byte[part.Indices.Length * size];
        for (int k = 0; k < part.Indices.Length; k++) part.Split.GrayPixels(part.Indices[k]).CopyTo(pixels.AsSpan(k * size));
        IdxFile.WriteImages(imagesPath, part.Split.Height, part.Split.Width, pixels);
        IdxFile.WriteLabels(labelsPath, part.Labels);
    }

    // Named by the image's index in the source split, so that each file can be traced back to its source image.
    // Written plainly: the staging folder's rename makes the whole output atomic, and flushing each of tens of
    // thousands of small files to disk, as AtomicFile does, takes a minute where writing them takes seconds.
    private static void WriteImages(string dir, IReadOnlyList<string> folders, Part part, Action written)
    {
        foreach (var folder in folders) Directory.CreateDirectory(Path.Combine(dir, folder));
        for (int k = 0; k < part.Indices.Length; k++)
        {
            var png = ImageEncoder.GrayPng(part.Split.GrayPixels(part.Indices[k]), part.Split.Width, part.Split.Height);
            File.WriteAllBytes(Path.Combine(dir, folders[part.Labels[k]], $"{part.Indices[k]:D5}.png"), png);
            written();
        }
    }
}
