using System.CommandLine;
using System.Globalization;
using MobileOne.Data;

namespace MobileOne.Cli.Commands;

/// <summary><c>mobileone data subset</c>: data sets made from data sets.</summary>
internal static class DataCommand
{
    public static Command Create(CliConsole console)
    {
        var data = new Command("data", "Make data sets from data sets: subsets of classes for pretraining and fine-tuning.");
        data.Add(Subset(console));
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
}
