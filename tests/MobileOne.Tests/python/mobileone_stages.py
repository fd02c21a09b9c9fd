"""Stage outputs of a train-time MobileOne without SE, built in Apple's structure and state-dict names.

Usage: mobileone_stages.py CHECKPOINT INPUT.npy OUTDIR BLOCKS WIDTHS K
Writes OUTDIR/stage0.npy ... stage4.npy (eval mode, BatchNorm on running statistics).
"""
import json
import sys

import numpy as np
import torch
from torch import nn


def conv_bn(cin, cout, kernel, stride, padding, groups):
    layer = nn.Sequential()
    layer.add_module("conv", nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False))
    layer.add_module("bn", nn.BatchNorm2d(cout))
    return layer


class Block(nn.Module):
    def __init__(self, cin, cout, kernel, stride, groups, branches):
        super().__init__()
        self.rbr_skip = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.rbr_conv = nn.ModuleList([conv_bn(cin, cout, kernel, stride, kernel // 2, groups) for _ in range(branches)])
        self.rbr_scale = conv_bn(cin, cout, 1, stride, 0, groups) if kernel > 1 else None

    def forward(self, x):
        out = (self.rbr_scale(x) if self.rbr_scale is not None else 0) + (self.rbr_skip(x) if self.rbr_skip is not None else 0)
        for branch in self.rbr_conv:
            out = out + branch(x)
        return torch.relu(out)


class MobileOne(nn.Module):
    def __init__(self, blocks, widths, k, classes):
        super().__init__()
        planes = min(64, int(64 * widths[0]))
        self.stage0 = Block(3, planes, 3, 2, 1, 1)
        for s, (n, base) in enumerate(zip(blocks, [64, 128, 256, 512])):
            out, layers = int(base * widths[s]), []
            for i in range(n):
                layers += [Block(planes, planes, 3, 2 if i == 0 else 1, planes, k), Block(planes, out, 1, 1, 1, k)]
                planes = out
            setattr(self, f"stage{s + 1}", nn.Sequential(*layers))
        self.linear = nn.Linear(planes, classes)

    def stages(self, x):
        outputs = []
        for s in range(5):
            x = getattr(self, f"stage{s}")(x)
            outputs.append(x)
        return outputs


def main():
    checkpoint, input_path, out_dir, blocks, widths, k = sys.argv[1:7]
    state = torch.load(checkpoint, map_location="cpu")
    model = MobileOne(json.loads(blocks), json.loads(widths), int(k), state["linear.weight"].shape[0])
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        for s, y in enumerate(model.stages(torch.from_numpy(np.load(input_path)))):
            np.save(f"{out_dir}/stage{s}.npy", y.numpy())


if __name__ == "__main__":
    main()
