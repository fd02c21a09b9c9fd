using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>One detected object: a box in pixels of the image, its label (1..K) and its score.</summary>
public sealed record DetectedBox(float X1, float Y1, float X2, float Y2, int Label, float Score)
{
    /// <summary>Width of the box.</summary>
    public float Width => X2 - X1;

    /// <summary>Height of the box.</summary>
    public float Height => Y2 - Y1;

    /// <summary>Intersection over union with <paramref name="other"/>; 0 when the union is empty.</summary>
    public double IoU(DetectedBox other)
    {
        double w = Math.Min(X2, other.X2) - Math.Max(X1, other.X1), h = Math.Min(Y2, other.Y2) - Math.Max(Y1, other.Y1);
        double inter = w > 0 && h > 0 ? w * h : 0;
        double union = (double)Width * Height + (double)other.Width * other.Height - inter;
        return union > 0 ? inter / union : 0;
    }
}

/// <summary>
/// SSD's post-processing, as torchvision's <c>SSD.postprocess_detections</c>: class probabilities by softmax,
/// boxes decoded and clipped to the input; per class (background excluded) the boxes scoring above
/// <see cref="ScoreThreshold"/>, at most <see cref="TopKPerClass"/> of them; non-maximum suppression within each
/// class at <see cref="NmsThreshold"/>; the best <see cref="MaxDetections"/> overall. SSDLite's values are the defaults.
/// </summary>
public sealed record SsdPostprocessor(double ScoreThreshold = 0.001, int TopKPerClass = 300, double NmsThreshold = 0.55, int MaxDetections = 300)
{
    /// <summary>
    /// The detections of one image from its [A, 4] box codes and [A, K] logits, for [A, 4] anchors on an input of
    /// <paramref name="inputHeight"/> x <paramref name="inputWidth"/>; boxes scaled by (<paramref name="scaleX"/>,
    /// <paramref name="scaleY"/>) back to the original image.
    /// </summary>
    public IReadOnlyList<DetectedBox> Run(Tensor codes, Tensor logits, Tensor anchors, BoxCoder coder, int inputHeight, int inputWidth,
        double scaleX = 1, double scaleY = 1)
    {
        float[] boxes, probabilities;
        long classes = logits.shape[1];
        using (var scope = NewDisposeScope())
        {
            boxes = BoxOps.Clip(coder.Decode(codes, anchors), inputHeight, inputWidth).contiguous().data<float>().ToArray();
            probabilities = logits.softmax(-1).contiguous().data<float>().ToArray();
        }
        return Select(boxes, probabilities, (int)classes, scaleX, scaleY);
    }

    /// <summary>
    /// The detections of one image from its decoded, clipped boxes (x1, y1, x2, y2 per anchor) and its class
    /// probabilities (<paramref name="classes"/> per anchor, the background first); boxes scaled by
    /// (<paramref name="scaleX"/>, <paramref name="scaleY"/>).
    /// </summary>
    public IReadOnlyList<DetectedBox> Select(float[] boxes, float[] probabilities, int classes, double scaleX = 1, double scaleY = 1)
    {
        if (classes < 2 || boxes.Length % 4 != 0 || (long)boxes.Length / 4 * classes != probabilities.Length)
            throw new MobileOneException($"post-processing: {boxes.Length} box values and {probabilities.Length} probabilities are not four and {classes} per anchor");
        var (candidateBoxes, scores, labels) = Candidates(boxes, probabilities, classes);
        var keep = NonMaxSuppression.KeepPerLabel(candidateBoxes, scores, labels, NmsThreshold);
        return keep.Take(MaxDetections).Select(i => new DetectedBox(
            (float)(candidateBoxes[4 * i] * scaleX), (float)(candidateBoxes[4 * i + 1] * scaleY),
            (float)(candidateBoxes[4 * i + 2] * scaleX), (float)(candidateBoxes[4 * i + 3] * scaleY), labels[i], scores[i])).ToList();
    }

    /// <summary>
    /// How many (box, class) pairs of one image's [A, K] class probabilities reach non-maximum suppression: per class
    /// (the background left out) the boxes scoring above <see cref="ScoreThreshold"/>, at most <see cref="TopKPerClass"/>.
    /// </summary>
    public long NmsInputs(Tensor probabilities)
    {
        using var scope = NewDisposeScope();
        // 0L: a literal 0 would bind to sum's ScalarType overload (Byte).
        var perClass = probabilities[.., 1..].gt(ScoreThreshold).sum(0L, type: ScalarType.Int64);
        return perClass.clamp_max(TopKPerClass).sum().item<long>();
    }

    // Per class, the best-scored boxes above the threshold: their boxes (copied, one per class they are kept for), scores and labels.
    private (float[] Boxes, float[] Scores, List<int> Labels) Candidates(float[] boxes, float[] probabilities, int classes)
    {
        int anchors = boxes.Length / 4;
        var picked = new List<(int Anchor, int Label, float Score)>();
        var column = new List<(int Anchor, float Score)>();
        for (int label = 1; label < classes; label++)
        {
            column.Clear();
            for (int a = 0; a < anchors; a++)
            {
                float s = probabilities[a * classes + label];
                if (s > ScoreThreshold) column.Add((a, s));
            }
            picked.AddRange(column.OrderByDescending(c => c.Score).ThenBy(c => c.Anchor).Take(TopKPerClass).Select(c => (c.Anchor, label, c.Score)));
        }
        var outBoxes = new float[picked.Count * 4];
        for (int i = 0; i < picked.Count; i++) Array.Copy(boxes, 4 * picked[i].Anchor, outBoxes, 4 * i, 4);
        return (outBoxes, picked.Select(p => p.Score).ToArray(), picked.Select(p => p.Label).ToList());
    }
}
