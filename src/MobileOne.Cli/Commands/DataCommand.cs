using System.CommandLine;
using System.Globalization;
using MobileOne.Data;
using MobileOne.Data.Mosaic;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone data subset|mosaic</c>: data sets made from data sets.</summary>
internal static class DataCommand
{
    public static Command Create(CliConsole console)
    {
        var data = new Command("data", "Make data sets from data sets: subsets of classes for pretraining and fine-tuning, mosaics for detection and segmentation.");
        data.Add(Subset(console));
        data.Add(Mosaic(console));
        return data;
    }

    private static Command Subset(CliConsole console)
    {
        var command = new Command("subset", "Write some classes of an IDX data set as a data set of their own: labels renumbered 0..n-1 in the order listed, class names kept, images unchanged.");
        var from = new Option<string>("--from") { Description = "fashion-mnist (Debian's package) or a folder of MNIST-format IDX files.", Required = true };
        var classes = new Option<string>("--classes") { Description = "Source class indices, in the order that numbers them: e.g. 0-6, 7,8,9 or 0,2-4.", Required = true };
        var format = new Option<string>("--format") { Description = "idx (the four IDX files and classes.txt) or imagefolder (train/CLASS/*.png, val/CLASS/*.png).", Required = true };
        format.AcceptOnlyFromAmong("idx", "imagefolder");
        var output = new Option<string>("--out") { Description = "Output folder: new or empty; it appears complete or not at all.", Required = true };
        var trainPerClass = new Option<int>("--train-per-class") { Description = "Training images per class (0: all).", DefaultValueFactory = _ => 0 };
        var valPerClass = new Option<int>("--val-per-class") { Description = "Validation (test split) images per class (0: all).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int?>("--seed") { Description = "Draw the images per class at random with this seed, instead of taking the first ones." };
        foreach (var o in new Option[] { from, classes, format, output, trainPerClass, valPerClass, seed }) command.Add(o);
        CliValidation.AtLeast(trainPerClass, 0);
        CliValidation.AtLeast(valPerClass, 0);
        command.SetAction(parsed =>
        {
            var spec = new SubsetSpec(ClassList.Parse(parsed.GetValue(classes)!), parsed.GetValue(trainPerClass), parsed.GetValue(valPerClass), parsed.GetValue(seed));
            var kind = parsed.GetValue(format) == "idx" ? SubsetFormat.Idx : SubsetFormat.ImageFolder;
            var result = DataSubset.Create(parsed.GetValue(from)!, spec, kind, parsed.GetValue(output)!, console.Error.WriteLine);
            Print(console, spec, kind, result);
            return 0;
        });
        return command;
    }

    private static void Print(CliConsole console, SubsetSpec spec, SubsetFormat kind, SubsetResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        console.Out.WriteLine(string.Format(inv, "{0,-6} {1,-7} {2,-24} {3,8} {4,8}", "label", "source", kind == SubsetFormat.Idx ? "class" : "class folder", "train", "val"));
        for (int i = 0; i < r.ClassNames.Count; i++)
            console.Out.WriteLine(string.Format(inv, "{0,-6} {1,-7} {2,-24} {3,8:N0} {4,8:N0}", r.Labels[i], spec.Classes[i], r.Folders[i], r.TrainCounts[i], r.ValCounts[i]));
        console.Out.WriteLine(string.Format(inv, "wrote {0:N0} training and {1:N0} validation images to {2}", r.TrainCounts.Sum(), r.ValCounts.Sum(), r.Dir));
    }

    private static Command Mosaic(CliConsole console)
    {
        var defaults = new MosaicOptions();
        var command = new Command("mosaic", "Write a detection (COCO) or segmentation (VOC-style) data set of Fashion-MNIST items placed at random sizes, places and counts on textured backgrounds; training images take items from Fashion-MNIST's training split, validation images from its test split.");
        var task = new Option<string>("--task") { Description = "detect: images/{train,val}/*.png and annotations/instances_{train,val}.json (COCO). segment: images/{train,val}/*.png, masks/{train,val}/*.png (class per pixel, 255 at item borders), {train,val}.txt and classes.txt.", Required = true };
        task.AcceptOnlyFromAmong("detect", "segment");
        var output = new Option<string>("--out") { Description = "Output folder: new or empty; it appears complete or not at all.", Required = true };
        var train = new Option<int>("--train") { Description = "Training images.", DefaultValueFactory = _ => defaults.TrainImages };
        var val = new Option<int>("--val") { Description = "Validation images.", DefaultValueFactory = _ => defaults.ValImages };
        var size = new Option<int>("--size") { Description = $"Side of the square images in pixels, {MosaicOptions.MinSize} to {MosaicOptions.MaxSize}.", DefaultValueFactory = _ => defaults.Size };
        var seed = new Option<int>("--seed") { Description = "Seed of every image: the same seed writes the same files, and the same images for either task.", DefaultValueFactory = _ => defaults.Seed };
        var minItem = new Option<int>("--min-item") { Description = "Smallest longer side of an item in pixels (sides are drawn log-uniformly).", DefaultValueFactory = _ => defaults.MinItemSide };
        var maxItem = new Option<int>("--max-item") { Description = "Largest longer side of an item in pixels (at most 5/8 of the image is used).", DefaultValueFactory = _ => defaults.MaxItemSide };
        foreach (var o in new Option[] { task, output, train, val, size, seed, minItem, maxItem }) command.Add(o);
        CliValidation.AtLeast(train, 0);
        CliValidation.AtLeast(val, 0);
        CliValidation.AtLeast(size, MosaicOptions.MinSize);
        command.SetAction(parsed =>
        {
            var options = defaults with
            {
                Task = parsed.GetValue(task) == "detect" ? MosaicTask.Detect : MosaicTask.Segment,
                TrainImages = parsed.GetValue(train),
                ValImages = parsed.GetValue(val),
                Size = parsed.GetValue(size),
                Seed = parsed.GetValue(seed),
                MinItemSide = parsed.GetValue(minItem),
                MaxItemSide = parsed.GetValue(maxItem),
            };
            var r = MosaicGenerator.Generate(options, parsed.GetValue(output)!, console.Error.WriteLine);
            console.Out.WriteLine(string.Format(CultureInfo.InvariantCulture, "wrote {0:N0} training and {1:N0} validation images with {2:N0} objects ({3:N0} small, {4:N0} medium, {5:N0} large) to {6}",
                r.TrainImages, r.ValImages, r.Objects, r.Small, r.Medium, r.Large, r.Dir));
            return 0;
        });
        return command;
    }
}
