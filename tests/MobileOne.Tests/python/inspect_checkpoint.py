"""Reads a checkpoint with PyTorch (torch.load, weights_only=True) or, for .safetensors, with a plain
header parse and numpy, and prints {key: [shape, dtype, sum]} as JSON, in file order.
Used by the interop tests to check that files written by MobileOne.NET are what PyTorch reads."""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    kinds = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=kinds[entry["dtype"]]).reshape(entry["shape"])
        out[key] = [list(arr.shape), entry["dtype"], float(arr.astype(np.float64).sum())]
    return out


def read_torch(path):
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: [list(v.shape), str(v.dtype).replace("torch.", ""), float(v.double().sum())] for k, v in state.items()}


if __name__ == "__main__":
    path = sys.argv[1]
    result = read_safetensors(path) if path.endswith(".safetensors") else read_torch(path)
    json.dump(result, sys.stdout)
