using System.Text.Json;

namespace MobileOne.Data.Mosaic;

/// <summary>
/// Writes a COCO instances file (<c>instances_SPLIT.json</c>): info, images (id, file_name, width, height),
/// annotations (id, image_id, category_id, bbox [x, y, w, h], area, iscrowd 0; segmentation omitted, which
/// box detection does not read) and categories (id, name, supercategory). Images and annotations are numbered
/// from 1 in order.
/// </summary>
public static class CocoInstancesWriter
{
    /// <summary>The supercategory every category is given.</summary>
    public const string Supercategory = "fashion";

    /// <summary>The file's bytes (compact UTF-8 JSON).</summary>
    /// <param name="description">The info block's description.</param>
    /// <param name="fileNames">The images' file names, relative to the split's image folder.</param>
    /// <param name="size">The side of every (square) image.</param>
    /// <param name="items">Per image, its objects.</param>
    /// <param name="categoryNames">The names of categories 1, 2, ...</param>
    public static byte[] Write(string description, IReadOnlyList<string> fileNames, int size, IReadOnlyList<IReadOnlyList<MosaicItem>> items, IReadOnlyList<string> categoryNames)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartObject("info");
            json.WriteString("description", description);
            json.WriteString("version", "1.0");
            json.WriteEndObject();
            json.WriteStartArray("licenses");
            json.WriteEndArray();
            WriteArray(json, "images", fileNames.Select((name, i) => (name, i)), image =>
            {
                json.WriteNumber("id", image.i + 1);
                json.WriteString("file_name", image.name);
                json.WriteNumber("width", size);
                json.WriteNumber("height", size);
            });
            var objects = items.SelectMany((list, i) => list.Select(item => (item, image: i + 1))).Select((o, k) => (o.item, o.image, id: k + 1));
            WriteArray(json, "annotations", objects, o =>
            {
                json.WriteNumber("id", o.id);
                json.WriteNumber("image_id", o.image);
                json.WriteNumber("category_id", o.item.Category);
                json.WriteStartArray("bbox");
                foreach (var v in new[] { o.item.Left, o.item.Top, o.item.Width, o.item.Height }) json.WriteNumberValue(v);
                json.WriteEndArray();
                json.WriteNumber("area", o.item.Area);
                json.WriteNumber("iscrowd", 0);
            });
            WriteArray(json, "categories", categoryNames.Select((name, c) => (name, c)), category =>
            {
                json.WriteNumber("id", category.c + 1);
                json.WriteString("name", category.name);
                json.WriteString("supercategory", Supercategory);
            });
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    // An array of objects, each written by one call of writeMembers.
    private static void WriteArray<T>(Utf8JsonWriter json, string name, IEnumerable<T> elements, Action<T> writeMembers)
    {
        json.WriteStartArray(name);
        foreach (var element in elements)
        {
            json.WriteStartObject();
            writeMembers(element);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
