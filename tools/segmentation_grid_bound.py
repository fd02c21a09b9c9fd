"""How well can DeepLabV3's output grid segment a data set at all?

DeepLabV3 predicts logits on a grid of 1/stride of the image and upsamples them bilinearly (align_corners=False).
For each validation mask this script fits such a grid's logits to the mask itself, by gradient descent on the
per-pixel cross-entropy, and scores the argmax with one confusion matrix over the split (255 ignored), as
`mobileone segment score` does. The result is what a network whose head could output any grid would reach: a
ceiling set by the grid, not by the backbone. `--soft` instead takes each cell's class fractions as the grid
(no fitting), a weaker ideal.

    python3 tools/segmentation_grid_bound.py data/seg128 --stride 16
"""
import argparse
import os

import torch
import torch.nn.functional as F
from torchvision.io import ImageReadMode, read_image


def grid_logits(mask, classes, stride, steps, soft):
    valid = mask != 255
    target = torch.where(valid, mask, torch.zeros_like(mask))
    if soft:
        onehot = F.one_hot(target, classes).permute(2, 0, 1).float()[None]
        return F.avg_pool2d(onehot, stride, ceil_mode=True)
    h, w = mask.shape
    logits = torch.zeros(1, classes, -(-h // stride), -(-w // stride), requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.5)
    for _ in range(steps):
        up = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        loss = F.cross_entropy(up, mask[None], ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return logits.detach()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a VOC-format data set in the mosaic's layout (masks/val/*.png, val.txt)")
    parser.add_argument("--stride", type=int, default=16)
    parser.add_argument("--classes", type=int, default=11)
    parser.add_argument("--steps", type=int, default=100, help="gradient steps per image")
    parser.add_argument("--soft", action="store_true", help="each cell's class fractions, no fitting")
    args = parser.parse_args()
    torch.set_num_threads(1)
    confusion = torch.zeros(args.classes, args.classes, dtype=torch.long)
    names = [line.strip() for line in open(os.path.join(args.data, "val.txt")) if line.strip()]
    for name in names:
        mask = read_image(os.path.join(args.data, "masks", "val", name + ".png"), ImageReadMode.UNCHANGED)[0].long()
        logits = grid_logits(mask, args.classes, args.stride, args.steps, args.soft)
        predicted = F.interpolate(logits, size=mask.shape, mode="bilinear", align_corners=False).argmax(1)[0]
        valid = mask != 255
        confusion += torch.bincount(mask[valid] * args.classes + predicted[valid], minlength=args.classes ** 2).view(args.classes, args.classes)
    tp = confusion.diag().double()
    union = confusion.sum(0).double() + confusion.sum(1).double() - tp
    iou = tp / union
    present = union > 0
    print(f"stride {args.stride}, {'cell fractions' if args.soft else f'{args.steps} steps a mask'}: mIoU {iou[present].mean():.4f}, "
          f"pixel accuracy {tp.sum() / confusion.sum():.4f}, per class {[round(v, 3) for v in iou.tolist()]}")


if __name__ == "__main__":
    main()
