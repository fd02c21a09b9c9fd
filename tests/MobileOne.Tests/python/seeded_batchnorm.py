"""Seeded, non-trivial BatchNorm parameters for the reference scripts, so that a parity test exercises them."""
import torch


def seed_batchnorm(model, g, statistics=True):
    """Weights in [0.5, 1.5), biases N(0, 0.1); with statistics, running means N(0, 0.1) and variances in
    [0.5, 1.5); without, a cumulative average (momentum None) for the caller to calibrate on data."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                if statistics:
                    m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                    m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                else:
                    m.momentum = None
