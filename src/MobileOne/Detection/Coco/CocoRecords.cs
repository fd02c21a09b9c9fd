namespace MobileOne.Detection.Coco;

/// <summary>A box in COCO's convention: left, top, width and height, in pixels.</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width (not negative).</param>
/// <param name="Height">Height (not negative).</param>
public readonly record struct CocoBox(double X, double Y, double Width, double Height)
{
    /// <summary>Width times height: the area COCO's evaluation gives a detection.</summary>
    public double Area => Width * Height;
}

/// <summary>An image of a COCO data set.</summary>
/// <param name="Id">The image's id (any whole number, unique in the file).</param>
/// <param name="FileName">Its path relative to the images folder.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record CocoImage(long Id, string FileName, int Width, int Height);

/// <summary>A category of a COCO data set.</summary>
/// <param name="Id">The category's id (any whole number, unique in the file; ids need not be consecutive).</param>
/// <param name="Name">Its name.</param>
public sealed record CocoCategory(long Id, string Name);

/// <summary>A ground-truth object of a COCO data set (its segmentation is not kept).</summary>
/// <param name="Id">The annotation's id, unique in the file.</param>
/// <param name="ImageId">The image it lies on.</param>
/// <param name="CategoryId">Its category.</param>
/// <param name="Box">The box as written in the file (not clipped): COCO's evaluation uses it so.</param>
/// <param name="Area">The file's <c>area</c> field (the segment's area), which COCO's evaluation uses for the size bands.</param>
/// <param name="IsCrowd">A crowd region: neither a hit nor a miss when scoring, and absorbing any number of detections.</param>
public sealed record CocoAnnotation(long Id, long ImageId, long CategoryId, CocoBox Box, double Area, bool IsCrowd);

/// <summary>One detection of a COCO results file.</summary>
/// <param name="ImageId">The image it was found on.</param>
/// <param name="CategoryId">Its category id (the data set's id, not a contiguous label).</param>
/// <param name="Box">The detected box.</param>
/// <param name="Score">Its confidence; higher is surer.</param>
public sealed record CocoDetection(long ImageId, long CategoryId, CocoBox Box, double Score);
