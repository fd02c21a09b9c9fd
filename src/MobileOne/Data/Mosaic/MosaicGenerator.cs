using MobileOne.IO;

namespace MobileOne.Data.Mosaic;

/// <summary>
/// A written mosaic data set: its folder and task, the images per split, and the objects of all images
/// by COCO's size bands, judged by their area (small below 32², large above 96²).
/// </summary>
public sealed record MosaicResult(string Dir, MosaicTask Task, int TrainImages, int ValImages, int Objects, int Small, int Medium, int Large);

/// <summary>
/// Writes a mosaic data set of Fashion-MNIST items (see <see cref="MosaicComposer"/>), real-format so that the
/// commands that read it read real data sets too. Detection: <c>images/{train,val}/NNNNNN.png</c> and COCO
/// <c>annotations/instances_{train,val}.json</c>. Segmentation: the same images, 8-bit class masks under
/// <c>masks/{train,val}/</c> (see <see cref="MosaicScene.ClassMask"/>), split lists <c>{train,val}.txt</c>
/// (file stems) and <c>classes.txt</c> (line i names class i, from the background). Training images take
/// their items from the training split, validation images from the test split. Image i of a split depends
/// only on (seed, split, i), so both tasks show the same images for one seed, and threads change nothing.
/// </summary>
public static class MosaicGenerator
{
    /// <summary>Folder and file names of the layout.</summary>
    public const string ImagesFolder = "images", MasksFolder = "masks", AnnotationsFolder = "annotations", ClassesFile = "classes.txt";

    /// <summary>The class of mask value 0.</summary>
    public const string BackgroundName = "background";

    /// <summary>The splits, in order.</summary>
    public static readonly IReadOnlyList<string> Splits = ["train", "val"];

    private const int ProgressEvery = 500;

    /// <summary>The file stem of image <paramref name="index"/> (from 0) of a split: 000001, 000002, ...</summary>
    public static string FileStem(int index) => (index + 1).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The COCO file of a split, relative to the data set folder.</summary>
    public static string InstancesPath(string split) => Path.Combine(AnnotationsFolder, $"instances_{split}.json");

    /// <summary>Image <paramref name="index"/> of split <paramref name="split"/> (0: train, 1: val), with items from <paramref name="source"/>.</summary>
    public static MosaicScene Scene(IdxFolder source, MosaicOptions options, int split, int index) =>
        MosaicComposer.Compose(source, options, new Random(DataLoader.Mix(options.Seed, split, index)));

    /// <summary>
    /// Writes the data set to <paramref name="dir"/>, which must be absent or empty; it appears complete or not at
    /// all. The items come from the Fashion-MNIST files in <paramref name="fashionMnistRoot"/>;
    /// <paramref name="progress"/> hears how many images are written every few hundred (from worker threads,
    /// one call at a time).
    /// </summary>
    public static MosaicResult Generate(MosaicOptions options, string dir, Action<string>? progress = null, string fashionMnistRoot = FashionMnist.DefaultRoot)
    {
        options.Validate();
        StagedFolder.RequireEmpty(Path.GetFullPath(dir)); // before the seconds that reading takes
        var sources = new[] { FashionMnist.Load(train: true, fashionMnistRoot), FashionMnist.Load(train: false, fashionMnistRoot) };
        var names = sources[0].ClassNames;
        if (names.Count >= MosaicScene.Ignore)
            throw new MobileOneException($"{sources[0].Description}: {names.Count} classes; a mask holds classes 1 to {MosaicScene.Ignore - 1}");
        var counts = new[] { options.TrainImages, options.ValImages };
        var progressCounter = new ProgressCounter(counts.Sum(), progress);
        var items = new List<MosaicItem>[2][];
        StagedFolder.Write(dir, stage =>
        {
            for (int split = 0; split < 2; split++)
                items[split] = WriteSplit(stage, sources[split], options, split, counts[split], progressCounter);
            WriteIndex(stage, options, names, items);
        });
        var all = items.SelectMany(s => s).SelectMany(i => i).ToList();
        return new MosaicResult(Path.GetFullPath(dir), options.Task, counts[0], counts[1], all.Count,
            all.Count(i => i.Area < 32 * 32), all.Count(i => i.Area >= 32 * 32 && i.Area <= 96 * 96), all.Count(i => i.Area > 96 * 96));
    }

    // The split's images (and masks), written in parallel; each image's objects at its index.
    private static List<MosaicItem>[] WriteSplit(string stage, IdxFolder source, MosaicOptions options, int split, int count, ProgressCounter progress)
    {
        var imageDir = Directory.CreateDirectory(Path.Combine(stage, ImagesFolder, Splits[split])).FullName;
        var maskDir = options.Task == MosaicTask.Segment ? Directory.CreateDirectory(Path.Combine(stage, MasksFolder, Splits[split])).FullName : null;
        var items = new List<MosaicItem>[count];
        Parallel.For(0, count, i =>
        {
            var scene = Scene(source, options, split, i);
            var file = FileStem(i) + ".png";
            File.WriteAllBytes(Path.Combine(imageDir, file), ImageEncoder.RgbPng(scene.Image));
            if (maskDir is not null) File.WriteAllBytes(Path.Combine(maskDir, file), ImageEncoder.GrayPng(scene.ClassMask(), options.Size, options.Size));
            items[i] = [.. scene.Items];
            progress.Done();
        });
        return items;
    }

    // The task's index files: COCO annotations, or split lists and class names.
    private static void WriteIndex(string stage, MosaicOptions options, IReadOnlyList<string> names, List<MosaicItem>[][] items)
    {
        for (int split = 0; split < 2; split++)
        {
            var stems = Enumerable.Range(0, items[split].Length).Select(FileStem).ToList();
            if (options.Task == MosaicTask.Detect)
            {
                Directory.CreateDirectory(Path.Combine(stage, AnnotationsFolder));
                var description = $"MobileOne.NET mosaic of Fashion-MNIST items, {Splits[split]} split, seed {options.Seed}";
                File.WriteAllBytes(Path.Combine(stage, InstancesPath(Splits[split])),
                    CocoInstancesWriter.Write(description, stems.Select(s => s + ".png").ToList(), options.Size, items[split], names));
            }
            else File.WriteAllText(Path.Combine(stage, Splits[split] + ".txt"), string.Concat(stems.Select(s => s + "\n")));
        }
        if (options.Task == MosaicTask.Segment) IdxClassNames.Write(Path.Combine(stage, ClassesFile), [BackgroundName, .. names]);
    }

    // Counts finished images across worker threads and reports every ProgressEvery of them, one report at a time.
    private sealed class ProgressCounter(int total, Action<string>? report)
    {
        private readonly Lock gate = new();
        private int done;

        public void Done()
        {
            if (report is null) return;
            lock (gate)
                if (++done % ProgressEvery == 0) report($"{done:N0} of {total:N0} images written");
        }
    }
}
