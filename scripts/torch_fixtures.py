#!/usr/bin/env python3
"""Write tests/fixtures/torch/: small files saved by PyTorch's own
`torch.save`, for the test that dich reads real `pytorch_model.bin` files
(scripts/safetensors_to_pth.py writes the format without torch; these come
from torch itself). Needs torch (CPU is enough):

    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch
    /tmp/torch/bin/python scripts/torch_fixtures.py tests/fixtures/torch

Writes state_dict.bin (a state dict whose tensors are what real
checkpoints hold: tied weights sharing one storage, a view at a storage
offset, a transposed view, f16/bf16/f64/i64 storages, a Parameter, an
OrderedDict with metadata, as `model.state_dict()` gives), strided.bin (a
view dich must refuse, naming it) and expected.json (each tensor's dims
and its values as f32, read back with torch).
"""
import collections
import json
import os
import sys

import torch


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(20261204)
    shared = torch.randn(6, 4, generator=g)
    base = torch.randn(10, 3, generator=g)
    wide = torch.randn(3, 5, generator=g)
    sd = collections.OrderedDict()
    # Tied embeddings: three names, one storage (torch pickles it once).
    sd["model.shared.weight"] = shared
    sd["model.encoder.embed_tokens.weight"] = shared
    sd["lm_head.weight"] = shared
    # A view that starts inside its storage, and a transposed one.
    sd["model.offset_view"] = base[4:]
    sd["model.transposed"] = wide.t()
    sd["final_logits_bias"] = torch.zeros(1, 6)
    sd["model.half"] = torch.randn(2, 3, generator=g).half()
    sd["model.bfloat16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["model.double"] = torch.randn(4, generator=g).double()
    sd["model.positions"] = torch.arange(5, dtype=torch.int64)
    sd["model.scalar"] = torch.tensor(0.25)
    sd["model.parameter"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(out, "state_dict.bin"))
    torch.save({"model.strided": base[::2]}, os.path.join(out, "strided.bin"))

    back = torch.load(os.path.join(out, "state_dict.bin"), weights_only=True)
    expected = {
        name: {
            "dims": list(t.shape),
            "values": [float(v) for v in t.detach().float().reshape(-1).tolist()],
        }
        for name, t in back.items()
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"torch": torch.__version__, "tensors": expected}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/torch")
