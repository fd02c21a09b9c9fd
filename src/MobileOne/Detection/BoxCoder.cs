using static TorchSharp.torch;

namespace MobileOne.Detection;

/// <summary>
/// The box encoding of Faster R-CNN and SSD: a box relative to an anchor as (dx, dy, dw, dh) = (wx (cx - ax) / aw,
/// wy (cy - ay) / ah, ww log(w / aw), wh log(h / ah)); boxes are x1, y1, x2, y2 in pixels. SSD's weights are
/// (10, 10, 5, 5). Decoding clamps dw and dh at log(1000 / 16), as torchvision does, so that a wild
/// prediction cannot overflow exp.
/// </summary>
public sealed record BoxCoder(double Wx = 10, double Wy = 10, double Ww = 5, double Wh = 5)
{
    /// <summary>torchvision's clamp on decoded log-sizes.</summary>
    public static readonly double ScaleClamp = Math.Log(1000.0 / 16);

    /// <summary>Centres and sizes of [N, 4] boxes, in the float32 operations the coder uses.</summary>
    public static (Tensor Cx, Tensor Cy, Tensor W, Tensor H) Centres(Tensor boxes)
    {
        var w = boxes[.., 2] - boxes[.., 0];
        var h = boxes[.., 3] - boxes[.., 1];
        return (boxes[.., 0] + 0.5 * w, boxes[.., 1] + 0.5 * h, w, h);
    }

    /// <summary>Encodes [N, 4] <paramref name="boxes"/> against their [N, 4] <paramref name="anchors"/>.</summary>
    public Tensor Encode(Tensor boxes, Tensor anchors)
    {
        using var scope = NewDisposeScope();
        var (ax, ay, aw, ah) = Centres(anchors);
        var (gx, gy, gw, gh) = Centres(boxes);
        return stack([Wx * (gx - ax) / aw, Wy * (gy - ay) / ah, Ww * (gw / aw).log(), Wh * (gh / ah).log()], 1).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes [..., N, 4] <paramref name="codes"/> against [N, 4] <paramref name="anchors"/> into x1, y1, x2, y2 boxes.</summary>
    public Tensor Decode(Tensor codes, Tensor anchors)
    {
        using var scope = NewDisposeScope();
        var (ax, ay, aw, ah) = Centres(anchors);
        var cx = codes[TensorIndex.Ellipsis, 0] / Wx * aw + ax;
        var cy = codes[TensorIndex.Ellipsis, 1] / Wy * ah + ay;
        var w = (codes[TensorIndex.Ellipsis, 2] / Ww).clamp_max(ScaleClamp).exp() * aw;
        var h = (codes[TensorIndex.Ellipsis, 3] / Wh).clamp_max(ScaleClamp).exp() * ah;
        // torchvision subtracts and adds half the size (not x1 + w), which the rounding of x2 depends on.
        var halfW = 0.5 * w;
        var halfH = 0.5 * h;
        return stack([cx - halfW, cy - halfH, cx + halfW, cy + halfH], -1).MoveToOuterDisposeScope();
    }
}
