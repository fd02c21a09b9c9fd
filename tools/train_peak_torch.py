#!/usr/bin/env python3
"""PyTorch peer of `mobileone bench --train`: time training steps of a train-time MobileOne and report peak RSS.

The network follows the structure of Apple's reference (stem, four stages of depthwise/pointwise
MobileOneBlocks with k conv+BN branches, a 1x1 scale branch and a BatchNorm skip, global average
pooling, a linear head); written here for this comparison. The step is this project's: SGD with
momentum 0.9 (weight decay on weights of rank > 1 only), label-smoothed cross-entropy, random data.
Prints one JSON object. Needs PyTorch (Debian's python3-torch: run it with /usr/bin/python3).
"""
import argparse
import json
import resource
import statistics
import time

import torch
from torch import nn

# Blocks per stage and width multipliers of the variants (paper, Table 7); S0 alone has k = 4.
VARIANTS = {
    "s0": ((2, 8, 10, 1), (0.75, 1.0, 1.0, 2.0), 4),
    "s1": ((2, 8, 10, 1), (1.5, 1.5, 2.0, 2.5), 1),
    "s2": ((2, 8, 10, 1), (1.5, 2.0, 2.5, 4.0), 1),
    "s3": ((2, 8, 10, 1), (2.0, 2.5, 3.0, 4.0), 1),
}


def conv_bn(cin, cout, kernel, stride, padding, groups):
    """One branch: a bias-free convolution and its BatchNorm."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    """Train-time MobileOne block: ReLU(scale + skip + sum of k conv branches)."""

    def __init__(self, cin, cout, kernel, stride, groups, branches):
        super().__init__()
        padding = kernel // 2
        self.rbr_skip = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.rbr_conv = nn.ModuleList(conv_bn(cin, cout, kernel, stride, padding, groups) for _ in range(branches))
        self.rbr_scale = conv_bn(cin, cout, 1, stride, 0, groups) if kernel > 1 else None

    def forward(self, x):
        scale = self.rbr_scale(x) if self.rbr_scale is not None else 0
        skip = self.rbr_skip(x) if self.rbr_skip is not None else 0
        out = scale + skip
        # In-place accumulation, as the reference does: each branch output is freed once added.
        for branch in self.rbr_conv:
            out += branch(x)
        return torch.relu(out)


class MobileOne(nn.Module):
    """Stem, four stages of depthwise 3x3 / pointwise 1x1 block pairs, pooling and a classifier."""

    def __init__(self, blocks, widths, k, classes=1000):
        super().__init__()
        planes = min(64, int(64 * widths[0]))
        self.stage0 = Block(3, planes, 3, 2, 1, 1)  # the stem has one conv branch whatever k is
        stages = []
        for n, base, width in zip(blocks, (64, 128, 256, 512), widths):
            out = int(base * width)
            layers = []
            for i in range(n):
                layers.append(Block(planes, planes, 3, 2 if i == 0 else 1, planes, k))
                layers.append(Block(planes, out, 1, 1, 1, k))
                planes = out
            stages.append(nn.Sequential(*layers))
        self.stage1, self.stage2, self.stage3, self.stage4 = stages
        self.linear = nn.Linear(planes, classes)

    def forward(self, x):
        x = self.stage0(x)
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return self.linear(x.mean((2, 3)))


def peak_rss_mib():
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_step(model, args):
    """One training step on a fixed random batch: forward, label-smoothed loss, backward, SGD, zero grads."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    sgd = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=0.01, momentum=0.9)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    y = torch.randint(1000, (args.batch,), generator=torch.Generator().manual_seed(2))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(x)
        loss = criterion(logits.float(), y)
        loss.backward()
        sgd.step()
        sgd.zero_grad(set_to_none=False)  # as the C# step: gradients kept, zeroed
        return loss.item()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="s0", choices=sorted(VARIANTS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16", action="store_true", help="CPU autocast to bfloat16 (float32 weights)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MobileOne(*VARIANTS[args.variant]).train()
    step = make_step(model, args)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    median = statistics.median(times)
    print(json.dumps({
        "model": args.variant.upper(), "engine": f"pytorch {torch.__version__}", "precision": "bf16" if args.bf16 else "fp32",
        "batch": args.batch, "input_size": [args.size, args.size], "threads": args.threads, "steps": args.steps,
        "params": sum(p.numel() for p in model.parameters()), "min_ms": min(times), "median_ms": median,
        "images_per_s": args.batch / (median / 1000.0), "peak_rss_mib": peak_rss_mib(),
    }))


if __name__ == "__main__":
    main()
