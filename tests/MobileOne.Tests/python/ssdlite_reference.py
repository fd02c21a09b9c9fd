"""Reference data for the SSDLite parity tests, from torchvision's own ssdlite320_mobilenet_v3_large.

usage: ssdlite_reference.py OUT_DIR
Writes OUT_DIR/: weights.pth (state_dict: torchvision's initialisation with seeded, non-trivial BatchNorm
statistics calibrated on random batches, random class biases), input.npy (2x3x320x320, the
normalised input the backbone sees), codes.npy and logits.npy (the head outputs, eval mode), anchors.npy
(image 0's default boxes), boxes/scores/labels.npy (image 0's detections from torchvision's own
postprocess_detections) and info.json (parameter count, state-dict keys and shapes, anchor count, and
SSD's loss of the head outputs against fixed targets).
"""
import json
import os
import sys

import numpy as np
import torch
from torchvision.models.detection import ssdlite320_mobilenet_v3_large
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou

from seeded_batchnorm import seed_batchnorm


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None)
    g = torch.Generator().manual_seed(1)
    seed_batchnorm(model, g, statistics=False)
    with torch.no_grad():
        # Running statistics from data, so that activations stay in range (random statistics saturate
        # ReLU6 and make whole maps score alike, which leaves the order of detections to ties).
        model.train()
        for _ in range(4):
            list(model.backbone(torch.randn(4, 3, 320, 320, generator=g)).values())
        model.backbone.eval()
        model.head.train()
        for _ in range(4):
            model.head(list(model.backbone(torch.randn(4, 3, 320, 320, generator=g)).values()))
        # Class biases apart, so that some classes lead.
        for block in model.head.classification_head.module_list:
            block[1].bias.copy_(torch.randn(block[1].bias.shape, generator=g))
    model.eval()
    x = torch.randn(2, 3, 320, 320, generator=g)
    with torch.no_grad():
        features = list(model.backbone(x).values())
        head = model.head(features)
        images = ImageList(x, [(320, 320)] * 2)
        anchors = model.anchor_generator(images, features)
        detections = model.postprocess_detections(head, anchors, images.image_sizes)
        # SSD's loss on these outputs: image 0 with three boxes (one small, matched only through its best
        # anchor), image 1 with none.
        targets = [
            {"boxes": torch.tensor([[10.0, 20.0, 120.0, 200.0], [150.0, 140.0, 300.0, 310.0], [40.0, 40.0, 52.0, 49.0]]),
             "labels": torch.tensor([3, 17, 90])},
            {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
        ]
        matched = []
        for a, t in zip(anchors, targets):
            if t["boxes"].numel() == 0:
                matched.append(torch.full((a.size(0),), -1, dtype=torch.int64))
            else:
                matched.append(model.proposal_matcher(box_iou(t["boxes"], a)))
        loss = model.compute_loss(targets, head, anchors, matched)
    os.makedirs(out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out, "weights.pth"))
    save = lambda name, t: np.save(os.path.join(out, name + ".npy"), t.numpy())
    save("input", x)
    save("codes", head["bbox_regression"])
    save("logits", head["cls_logits"])
    save("anchors", anchors[0])
    save("boxes", detections[0]["boxes"])
    save("scores", detections[0]["scores"])
    save("labels", detections[0]["labels"].to(torch.float32))  # .npy readers here take float32
    info = {
        "params": sum(p.numel() for p in model.parameters()),
        "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        "anchors": int(anchors[0].shape[0]),
        "grids": [list(f.shape[-2:]) for f in features],
        "loss": {k: float(v) for k, v in loss.items()},
        "matched": [int((m >= 0).sum()) for m in matched],
    }
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    main()
