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
            WriteImages(json, fileNames, size);
            WriteAnnotations(json, items);
            WriteCategories(json, categoryNames);
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteImages(Utf8JsonWriter json, IReadOnlyList<string> fileNames, int size)
    {
        json.WriteStartArray("images");
        for (int i = 0; i < fileNames.Count; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", i + 1);
            json.WriteString("file_name", fileNames[i]);
            json.WriteNumber("width", size);
            json.WriteNumber("height", size);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteAnnotations(Utf8JsonWriter json, IReadOnlyList<IReadOnlyList<MosaicItem>> items)
    {
        json.WriteStartArray("annotations");
        int id = 0;
        for (int i = 0; i < items.Count; i++)
            foreach (var item in items[i])
            {
                json.WriteStartObject();
                json.WriteNumber("id", ++id);
                json.WriteNumber("image_id", i + 1);
                json.WriteNumber("category_id", item.Category);
                json.WriteStartArray("bbox");
                foreach (var v in new[] { item.Left, item.Top, item.Width, item.Height }) json.WriteNumberValue(v);
                json.WriteEndArray();
                json.WriteNumber("area", item.Area);
                json.WriteNumber("iscrowd", 0);
                json.WriteEndObject();
            }
        json.WriteEndArray();
    }

    private static void WriteCategories(Utf8JsonWriter json, IReadOnlyList<string> names)
    {
        json.WriteStartArray("categories");
        for (int c = 0; c < names.Count; c++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", c + 1);
            json.WriteString("name", names[c]);
            json.WriteString("supercategory", Supercategory);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
