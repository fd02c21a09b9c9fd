using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>Operations on x1, y1, x2, y2 boxes held as [N, 4] tensors.</summary>
public static class BoxOps
{
    /// <summary>Areas of [N, 4] boxes.</summary>
    public static Tensor Area(Tensor boxes) => (boxes[.., 2] - boxes[.., 0]) * (boxes[.., 3] - boxes[.., 1]);

    /// <summary>The [N, M] intersection-over-union matrix of <paramref name="a"/> (N boxes) and <paramref name="b"/> (M boxes).</summary>
    public static Tensor Iou(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var lt = maximum(a[.., TensorIndex.None, ..2], b[TensorIndex.None, .., ..2]);
        var rb = minimum(a[.., TensorIndex.None, 2..], b[TensorIndex.None, .., 2..]);
        var wh = (rb - lt).clamp_min(0);
        var inter = wh[TensorIndex.Ellipsis, 0] * wh[TensorIndex.Ellipsis, 1];
        var union = Area(a)[.., TensorIndex.None] + Area(b)[TensorIndex.None, ..] - inter;
        return (inter / union).MoveToOuterDisposeScope();
    }

    /// <summary>Boxes clipped to an image of <paramref name="height"/> x <paramref name="width"/> pixels.</summary>
    public static Tensor Clip(Tensor boxes, long height, long width)
    {
        using var scope = NewDisposeScope();
        var x = boxes[TensorIndex.Ellipsis, TensorIndex.Slice(0, null, 2)].clamp(0, width);
        var y = boxes[TensorIndex.Ellipsis, TensorIndex.Slice(1, null, 2)].clamp(0, height);
        return stack([x[TensorIndex.Ellipsis, 0], y[TensorIndex.Ellipsis, 0], x[TensorIndex.Ellipsis, 1], y[TensorIndex.Ellipsis, 1]], -1).MoveToOuterDisposeScope();
    }
}
