namespace MobileOne.Data.Mosaic;

/// <summary>
/// One placed item as it is visible in the finished image: its category (the source label plus one), the
/// tight box of its visible pixels (left, top, width, height, in pixels) and the count of those pixels.
/// </summary>
/// <param name="Category">1 to K; 0 is the background.</param>
/// <param name="Left">The first column holding one of its pixels.</param>
/// <param name="Top">The first row holding one of its pixels.</param>
/// <param name="Width">Columns from the first to the last holding its pixels.</param>
/// <param name="Height">Rows from the first to the last holding its pixels.</param>
/// <param name="Area">Its visible pixels: what COCO's area is, the area of the object's segment.</param>
public sealed record MosaicItem(int Category, int Left, int Top, int Width, int Height, int Area);

/// <summary>
/// One mosaic image: the pixels, which item each pixel shows (0: the background, i: <c>Items[i - 1]</c>;
/// later items cover earlier ones) and the items in the order they were placed.
/// </summary>
/// <param name="Image">The image.</param>
/// <param name="Owners">Per pixel, row-major, the 1-based index of the item it shows, or 0.</param>
/// <param name="Items">The visible items.</param>
public sealed record MosaicScene(RgbImage Image, byte[] Owners, IReadOnlyList<MosaicItem> Items)
{
    /// <summary>
    /// The class of every pixel (0 for the background), with 255, "ignore", on each pixel whose left, right,
    /// upper or lower neighbour shows another item or the background: a two-pixel band along every item's
    /// outline, as VOC marks its object borders.
    /// </summary>
    public byte[] ClassMask()
    {
        int w = Image.Width, h = Image.Height;
        var mask = new byte[Owners.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x, owner = Owners[p];
                bool border = (x > 0 && Owners[p - 1] != owner) || (x < w - 1 && Owners[p + 1] != owner)
                    || (y > 0 && Owners[p - w] != owner) || (y < h - 1 && Owners[p + w] != owner);
                mask[p] = border ? Ignore : owner == 0 ? (byte)0 : checked((byte)Items[owner - 1].Category);
            }
        return mask;
    }

    /// <summary>The mask value of pixels to leave out of training and scoring.</summary>
    public const byte Ignore = 255;
}
