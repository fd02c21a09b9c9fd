using MobileOne.Detection.Coco;

namespace MobileOne.Detection;

/// <summary>
/// A detection data set in COCO's layout: <c>annotations/instances_{split}.json</c> with the images in
/// <c>images/{split}/</c> (what the mosaic generator writes) or in <c>{split}2017/</c> (COCO's own), for
/// the splits <c>train</c> and <c>val</c> (or <c>train2017</c> and <c>val2017</c>).
/// </summary>
public static class DetectionData
{
    /// <summary>Loads the training and validation splits of <paramref name="root"/>; a clear error when one is missing.</summary>
    public static (CocoDataset Train, CocoDataset Val) Load(string root) => (Split(root, "train"), Split(root, "val"));

    /// <summary>Loads one split (<c>train</c> or <c>val</c>) of <paramref name="root"/>.</summary>
    public static CocoDataset Split(string root, string split)
    {
        if (!Directory.Exists(root)) throw new MobileOneException($"{root}: no such data folder");
        foreach (var (json, images) in Layouts(root, split))
            if (File.Exists(json)) return CocoDataset.Load(json, Directory.Exists(images) ? images : throw new MobileOneException($"{json}: its images folder {images} is missing"));
        throw new MobileOneException($"{root}: no COCO annotations for the {split} split (looked for {string.Join(", ", Layouts(root, split).Select(l => l.Json))})");
    }

    private static IEnumerable<(string Json, string Images)> Layouts(string root, string split)
    {
        yield return (Path.Combine(root, "annotations", $"instances_{split}.json"), Path.Combine(root, "images", split));
        yield return (Path.Combine(root, "annotations", $"instances_{split}2017.json"), Path.Combine(root, $"{split}2017"));
    }

    /// <summary>
    /// The image at <paramref name="index"/> of <paramref name="set"/> with its non-crowd objects (crowd regions
    /// are left out of training, as torchvision's reference does). The decoded image must have the size the
    /// annotations give it, since its boxes are in those pixels.
    /// </summary>
    public static DetectionSample Sample(CocoDataset set, int index)
    {
        var path = set.ImagePath(index);
        var image = Data.ImageDecoder.Decode(path);
        var info = set.Images[index];
        if (image.Width != info.Width || image.Height != info.Height)
            throw new MobileOneException($"{path}: the image is {image.Width}x{image.Height}, its annotations ({set.Path}) say {info.Width}x{info.Height}");
        var targets = set.Targets(index);
        var keep = Enumerable.Range(0, targets.Count).Where(i => !targets.IsCrowd[i]).ToArray();
        var boxes = keep.SelectMany(i => targets.Boxes.AsSpan(4 * i, 4).ToArray()).ToArray();
        return new DetectionSample(image, boxes, keep.Select(i => (int)targets.Labels[i]).ToArray());
    }
}
