"""Boolean masks as JSON-able bit-packed records (stored with iterative methods' rounds and in tickets)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["pack_mask", "unpack_mask"]


def pack_mask(mask: torch.Tensor) -> dict[str, Any]:
    """A boolean tensor as JSON-able ``{"shape", "bits"}`` (bit-packed, base64)."""
    arr = np.packbits(torch.as_tensor(mask).cpu().numpy().astype(bool).reshape(-1))
    return {"shape": list(mask.shape), "bits": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack_mask(packed: Mapping[str, Any]) -> torch.Tensor:
    """Inverse of :func:`pack_mask`."""
    shape = [int(s) for s in packed["shape"]]
    n = int(np.prod(shape)) if shape else 1
    bits = np.frombuffer(base64.b64decode(packed["bits"]), dtype=np.uint8)
    return torch.from_numpy(np.unpackbits(bits)[:n].astype(bool)).view(shape)
