"""Reference data for the zoo's parity tests, from torchvision's own model definitions.

usage: torchvision_reference.py OUT_DIR NAME [NAME ...]
For each torchvision model NAME writes OUT_DIR/NAME/: weights.pth (state_dict, seeded weights with
non-trivial BatchNorm statistics), input.npy (1x3x224x224), logits.npy (eval mode) and info.json
(parameter count, conv+linear MACs at 224 counted with forward hooks, state-dict keys and shapes).
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision

from seeded_batchnorm import seed_batchnorm


def macs_of(model, x):
    total = 0

    def conv_hook(m, _, y):
        nonlocal total
        total += y.numel() // y.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, _, y):
        nonlocal total
        total += y.numel() // y.shape[0] * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    return total, y


def main():
    out, names = sys.argv[1], sys.argv[2:]
    for name in names:
        torch.manual_seed(0)
        model = getattr(torchvision.models, name)()
        g = torch.Generator().manual_seed(1)
        seed_batchnorm(model, g)
        model.eval()
        x = torch.randn(1, 3, 224, 224, generator=g)
        macs, logits = macs_of(model, x)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(folder, "weights.pth"))
        np.save(os.path.join(folder, "input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(folder, "logits.npy"), logits.numpy().astype(np.float32))
        info = {
            "name": name,
            "params": sum(p.numel() for p in model.parameters()),
            "macs": macs,
            "keys": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }
        with open(os.path.join(folder, "info.json"), "w") as f:
            json.dump(info, f)


if __name__ == "__main__":
    main()
