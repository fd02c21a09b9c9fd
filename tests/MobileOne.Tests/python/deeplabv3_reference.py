"""Reference data for the DeepLabV3 parity tests, from torchvision's own deeplabv3_mobilenet_v3_large.

usage: deeplabv3_reference.py OUT_DIR
Writes OUT_DIR/: weights.pth (state_dict of deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None,
aux_loss=False): torchvision's initialisation with seeded BatchNorm affine parameters and running statistics
calibrated on random batches), input.npy (2x3x128x96), logits.npy (the "out" logits, eval mode) and info.json
(parameter count, state-dict keys and shapes; the same for the model with the auxiliary head).
"""
import json
import os
import sys

import numpy as np
import torch
from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

from seeded_batchnorm import seed_batchnorm


def keys(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=False)
    g = torch.Generator().manual_seed(1)
    seed_batchnorm(model, g, statistics=False)
    with torch.no_grad():
        # Running statistics from data, so that activations stay in range through 17 units and the head.
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, 96, 96, generator=g))
    model.eval()
    x = torch.randn(2, 3, 128, 96, generator=g)
    with torch.no_grad():
        logits = model(x)["out"]
    aux = deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=True)
    os.makedirs(out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(out, "weights.pth"))
    np.save(os.path.join(out, "input.npy"), x.numpy())
    np.save(os.path.join(out, "logits.npy"), logits.numpy())
    info = {
        "params": sum(p.numel() for p in model.parameters()),
        "keys": keys(model),
        "aux_params": sum(p.numel() for p in aux.parameters()),
        "aux_keys": keys(aux),
    }
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    main()
