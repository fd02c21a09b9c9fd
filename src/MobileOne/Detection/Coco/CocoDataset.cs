using System.Text.Json;
using MobileOne.IO;

namespace MobileOne.Detection.Coco;

/// <summary>
/// A COCO-format object detection data set: an <c>instances_*.json</c> annotation file, and optionally
/// the folder its images' file names are relative to.
/// </summary>
/// <remarks>
/// <para>The file is checked as it is read; every failure is a <see cref="MobileOneException"/> naming the
/// file and the offending image or annotation: an id that is not a whole number or appears twice, an
/// annotation whose <c>image_id</c> or <c>category_id</c> is not in the file, a width, height, box
/// coordinate or area that is negative or not finite, an image file name that leaves the images folder,
/// and, when an images folder is given, an image file that does not exist (checked at load).</para>
/// <para>Boxes: <see cref="CocoAnnotation.Box"/> keeps the box as written, since COCO's evaluation scores
/// against it unchanged; <see cref="Targets"/> clips it to the image. A box that is empty once clipped (no
/// width or no height inside the image) is refused with the image named, unless it is a crowd region,
/// which is then dropped from the data set: a crowd region outside its image can absorb nothing.</para>
/// <para>Images without annotations are kept; <c>segmentation</c> (polygons or RLE) is skipped unread, as
/// is any member the reader does not use. <c>iscrowd</c> may be absent (meaning 0); <c>area</c> is required,
/// since the evaluation's size bands use it.</para>
/// </remarks>
public sealed class CocoDataset
{
    private readonly Dictionary<long, int> _imageIndex;
    private readonly int[][] _annotationsByImage;

    private CocoDataset(string path, string? imagesDir, List<CocoImage> images, List<CocoCategory> categories, List<CocoAnnotation> annotations)
    {
        Path = path;
        ImagesDir = imagesDir;
        Images = images;
        Categories = categories.OrderBy(c => c.Id).ToList();
        Annotations = annotations;
        Labels = new CocoLabelMap(categories.Select(c => c.Id));
        _imageIndex = new Dictionary<long, int>(images.Count);
        for (int i = 0; i < images.Count; i++) _imageIndex.Add(images[i].Id, i);
        var byImage = new List<int>?[images.Count];
        for (int a = 0; a < annotations.Count; a++) (byImage[_imageIndex[annotations[a].ImageId]] ??= []).Add(a);
        _annotationsByImage = byImage.Select(list => list?.ToArray() ?? []).ToArray();
    }

    /// <summary>The annotation file.</summary>
    public string Path { get; }

    /// <summary>The images folder, when one was given.</summary>
    public string? ImagesDir { get; }

    /// <summary>The images, in the file's order (including those without annotations).</summary>
    public IReadOnlyList<CocoImage> Images { get; }

    /// <summary>The categories in ascending id order, i.e. label order.</summary>
    public IReadOnlyList<CocoCategory> Categories { get; }

    /// <summary>The annotations in the file's order (less crowd regions empty inside their image).</summary>
    public IReadOnlyList<CocoAnnotation> Annotations { get; }

    /// <summary>Contiguous labels for the category ids.</summary>
    public CocoLabelMap Labels { get; }

    /// <summary>Whether an image of this id is in the data set.</summary>
    public bool ContainsImage(long imageId) => _imageIndex.ContainsKey(imageId);

    /// <summary>The index in <see cref="Images"/> of the image with this id, or -1.</summary>
    public int IndexOfImage(long imageId) => _imageIndex.TryGetValue(imageId, out var i) ? i : -1;

    /// <summary>The annotations of the image at <paramref name="imageIndex"/> in <see cref="Images"/>, in the file's order.</summary>
    public IReadOnlyList<CocoAnnotation> AnnotationsOf(int imageIndex) =>
        _annotationsByImage[imageIndex].Select(a => Annotations[a]).ToList();

    /// <summary>The objects of the image at <paramref name="imageIndex"/>, clipped to it, with contiguous labels, for training.</summary>
    public CocoImageTargets Targets(int imageIndex)
    {
        var image = Images[imageIndex];
        var indices = _annotationsByImage[imageIndex];
        var boxes = new float[indices.Length * 4];
        var labels = new long[indices.Length];
        var crowd = new bool[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            var a = Annotations[indices[i]];
            Clip(a.Box, image).CopyTo(boxes.AsSpan(4 * i));
            labels[i] = Labels.LabelOf(a.CategoryId);
            crowd[i] = a.IsCrowd;
        }
        return new CocoImageTargets(boxes, labels, crowd);
    }

    /// <summary>The full path of the image at <paramref name="imageIndex"/>.</summary>
    /// <exception cref="InvalidOperationException">The data set was loaded without an images folder.</exception>
    public string ImagePath(int imageIndex) => ImagesDir is null
        ? throw new InvalidOperationException("the data set was loaded without an images folder")
        : System.IO.Path.Combine(ImagesDir, Images[imageIndex].FileName);

    /// <summary>Reads and checks an annotation file; with <paramref name="imagesDir"/>, also checks that every image file exists.</summary>
    /// <exception cref="MobileOneException">The file is missing, too large, not valid JSON, or inconsistent (see the remarks).</exception>
    public static CocoDataset Load(string annotationsPath, string? imagesDir = null) => Load(annotationsPath, imagesDir, CocoLimits.Default);

    internal static CocoDataset Load(string annotationsPath, string? imagesDir, CocoLimits limits)
    {
        if (imagesDir is not null && !Directory.Exists(imagesDir))
            throw new MobileOneException($"{imagesDir}: images folder not found");
        var reader = new InstancesReader(annotationsPath, limits);
        CocoJson.Parse(annotationsPath, reader.Root);
        var annotations = reader.CheckAnnotations();
        if (imagesDir is not null) CheckImageFiles(annotationsPath, imagesDir, reader.Images);
        return new CocoDataset(annotationsPath, imagesDir, reader.Images, reader.Categories, annotations);
    }

    /// <summary>The box in corner form, clipped to the image, in float32; null when nothing of it is inside.</summary>
    private static float[]? TryClip(CocoBox box, CocoImage image)
    {
        float x1 = (float)Math.Min(box.X, image.Width), y1 = (float)Math.Min(box.Y, image.Height);
        float x2 = (float)Math.Min(box.X + box.Width, image.Width), y2 = (float)Math.Min(box.Y + box.Height, image.Height);
        return x2 > x1 && y2 > y1 ? [x1, y1, x2, y2] : null;
    }

    private static float[] Clip(CocoBox box, CocoImage image) => TryClip(box, image)!;

    private static void CheckImageFiles(string path, string imagesDir, List<CocoImage> images)
    {
        foreach (var image in images)
            if (!File.Exists(System.IO.Path.Combine(imagesDir, image.FileName)))
                throw CocoJson.Error(path, $"image {image.Id}: its file '{MessageText.Shorten(image.FileName)}' is not in {imagesDir}");
    }

    /// <summary>The members of an instances file, read entry by entry and checked as far as each entry alone allows.</summary>
    private sealed class InstancesReader(string path, CocoLimits limits)
    {
        public List<CocoImage> Images { get; } = [];
        public List<CocoCategory> Categories { get; } = [];
        private readonly List<CocoAnnotation> _annotations = [];
        private readonly HashSet<long> _imageIds = [], _categoryIds = [];
        private bool _sawImages, _sawCategories;

        public void Root(ref Utf8JsonReader r)
        {
            CocoJson.Object(ref r, path, "the file", Member);
            if (!_sawImages) throw CocoJson.Error(path, "no 'images' list: not a COCO annotation file");
            if (!_sawCategories) throw CocoJson.Error(path, "no 'categories' list: not a COCO annotation file");
        }

        private bool Member(ref Utf8JsonReader r, string name)
        {
            switch (name)
            {
                case "images": _sawImages = true; CocoJson.Array(ref r, path, "'images'", limits.MaxImages, Image); return true;
                case "categories": _sawCategories = true; CocoJson.Array(ref r, path, "'categories'", limits.MaxCategories, Category); return true;
                case "annotations": CocoJson.Array(ref r, path, "'annotations'", limits.MaxObjects, Annotation); return true;
                default: return false;
            }
        }

        private void Image(ref Utf8JsonReader r)
        {
            string where = $"images[{Images.Count}]";
            long? id = null;
            string? file = null;
            double? width = null, height = null;
            CocoJson.Object(ref r, path, where, (ref Utf8JsonReader v, string name) =>
            {
                switch (name)
                {
                    case "id": id = CocoJson.Int64(ref v, path, where, name); return true;
                    case "file_name": file = CocoJson.String(ref v, path, where, name, limits.MaxName); return true;
                    case "width": width = CocoJson.Number(ref v, path, where, name); return true;
                    case "height": height = CocoJson.Number(ref v, path, where, name); return true;
                    default: return false;
                }
            });
            long imageId = CocoJson.Required(id, path, where, "id");
            var image = new CocoImage(imageId, CheckFileName(CocoJson.Required(file, path, where, "file_name"), imageId),
                Side(CocoJson.Required(width, path, where, "width"), imageId, "width"), Side(CocoJson.Required(height, path, where, "height"), imageId, "height"));
            if (!_imageIds.Add(imageId)) throw CocoJson.Error(path, $"image id {imageId} appears twice");
            Images.Add(image);
        }

        private int Side(double value, long imageId, string name) =>
            value >= 1 && value <= limits.MaxSide && value == Math.Floor(value)
                ? (int)value
                : throw CocoJson.Error(path, $"image {imageId}: {name} {value} is not a whole number of pixels in 1..{limits.MaxSide:N0}");

        private string CheckFileName(string name, long imageId)
        {
            bool inside = name.Length > 0 && !System.IO.Path.IsPathRooted(name) && !name.Contains('\0')
                          && !name.Split('/', '\\').Any(part => part == "..");
            return inside ? name : throw CocoJson.Error(path, $"image {imageId}: file_name '{MessageText.Shorten(name)}' is not a relative path inside the images folder");
        }

        private void Category(ref Utf8JsonReader r)
        {
            string where = $"categories[{Categories.Count}]";
            long? id = null;
            string? label = null;
            CocoJson.Object(ref r, path, where, (ref Utf8JsonReader v, string name) =>
            {
                switch (name)
                {
                    case "id": id = CocoJson.Int64(ref v, path, where, name); return true;
                    case "name": label = CocoJson.String(ref v, path, where, name, limits.MaxName); return true;
                    default: return false;
                }
            });
            long categoryId = CocoJson.Required(id, path, where, "id");
            if (!_categoryIds.Add(categoryId)) throw CocoJson.Error(path, $"category id {categoryId} appears twice");
            Categories.Add(new CocoCategory(categoryId, CocoJson.Required(label, path, where, "name")));
        }

        private void Annotation(ref Utf8JsonReader r)
        {
            string where = $"annotations[{_annotations.Count}]";
            long? id = null, image = null, category = null;
            CocoBox? box = null;
            double? area = null;
            bool crowd = false;
            CocoJson.Object(ref r, path, where, (ref Utf8JsonReader v, string name) =>
            {
                switch (name)
                {
                    case "id": id = CocoJson.Int64(ref v, path, where, name); return true;
                    case "image_id": image = CocoJson.Int64(ref v, path, where, name); return true;
                    case "category_id": category = CocoJson.Int64(ref v, path, where, name); return true;
                    case "bbox": box = CocoJson.Box(ref v, path, where); return true;
                    case "area": area = CocoJson.Number(ref v, path, where, name); return true;
                    case "iscrowd": crowd = CocoJson.Flag(ref v, path, where, name); return true;
                    default: return false;
                }
            });
            _annotations.Add(new CocoAnnotation(CocoJson.Required(id, path, where, "id"), CocoJson.Required(image, path, where, "image_id"),
                CocoJson.Required(category, path, where, "category_id"), CocoJson.Required(box, path, where, "bbox"),
                CocoJson.Required(area, path, where, "area"), crowd));
        }

        /// <summary>The annotations once images and categories are known: references, values and boxes checked.</summary>
        public List<CocoAnnotation> CheckAnnotations()
        {
            var images = Images.ToDictionary(i => i.Id);
            var ids = new HashSet<long>(_annotations.Count);
            var kept = new List<CocoAnnotation>(_annotations.Count);
            foreach (var a in _annotations)
            {
                string where = $"annotation {a.Id}";
                if (!ids.Add(a.Id)) throw CocoJson.Error(path, $"annotation id {a.Id} appears twice");
                if (!images.TryGetValue(a.ImageId, out var image)) throw CocoJson.Error(path, $"{where}: image_id {a.ImageId} is not an image of the file");
                where += $" (image {image.Id}, '{MessageText.Shorten(image.FileName)}')";
                if (!_categoryIds.Contains(a.CategoryId)) throw CocoJson.Error(path, $"{where}: category_id {a.CategoryId} is not a category of the file");
                var b = a.Box;
                if (b.X < 0 || b.Y < 0 || b.Width < 0 || b.Height < 0)
                    throw CocoJson.Error(path, $"{where}: bbox [{b.X}, {b.Y}, {b.Width}, {b.Height}] has a negative value");
                if (a.Area < 0) throw CocoJson.Error(path, $"{where}: area {a.Area} is negative");
                if (TryClip(b, image) is null)
                {
                    if (a.IsCrowd) continue;
                    throw CocoJson.Error(path, $"{where}: bbox [{b.X}, {b.Y}, {b.Width}, {b.Height}] is empty inside the {image.Width}x{image.Height} image");
                }
                kept.Add(a);
            }
            return kept;
        }
    }
}
