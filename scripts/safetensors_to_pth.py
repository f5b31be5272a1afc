#!/usr/bin/env python3
"""Write a PyTorch `pytorch_model.bin` (zip + pickle, as `torch.save` does)
from an f32 `model.safetensors`, with the Python standard library only (no
torch, no numpy): tests use it to check that dich loads the pickle format.

    python3 scripts/safetensors_to_pth.py model.safetensors pytorch_model.bin

The pickle references `torch._utils._rebuild_tensor_v2` and
`torch.FloatStorage` by name, with one storage record per tensor in
`archive/data/N`, like PyTorch's own files; stand-in modules are put in
sys.modules only so the pickler can name them.
"""
import collections
import json
import pickle
import struct
import sys
import types
import zipfile


def fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("writer only")

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage = FloatStorage
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return FloatStorage, _rebuild_tensor_v2


FloatStorage, rebuild = fake_torch()


class Storage:
    def __init__(self, key, numel):
        self.key = key
        self.numel = numel


class Tensor:
    def __init__(self, storage, shape):
        self.storage = storage
        self.shape = tuple(shape)

    def __reduce__(self):
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return (rebuild, (self.storage, 0, self.shape, tuple(stride), False,
                          collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def main():
    src, dst = sys.argv[1:3]
    with open(src, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    state = collections.OrderedDict()
    blobs = []
    for i, name in enumerate(sorted(header)):
        info = header[name]
        if info["dtype"] != "F32":
            sys.exit(f"{name}: only F32 tensors are written, got {info['dtype']}")
        a, b = info["data_offsets"]
        numel = (b - a) // 4
        state[name] = Tensor(Storage(str(i), numel), info["shape"])
        blobs.append((str(i), data[a:b]))
    import io
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for key, blob in blobs:
            z.writestr(f"archive/data/{key}", blob)
        z.writestr("archive/version", "3\n")


if __name__ == "__main__":
    main()
