using MobileOne.Data;

namespace MobileOne.Detection;

/// <summary>One image of a detection data set with its objects.</summary>
/// <param name="Image">The image.</param>
/// <param name="Boxes">
/// N boxes as 4 N floats, each (x1, y1, x2, y2) in pixels of <paramref name="Image"/>: left, top, right and
/// bottom edges, so a box covering pixel columns 3 to 5 runs from x1 = 3 to x2 = 6.
/// </param>
/// <param name="Labels">The N boxes' classes, contiguous from 1 to K; 0 is the background and labels no box.</param>
public sealed record DetectionSample(RgbImage Image, float[] Boxes, int[] Labels);
