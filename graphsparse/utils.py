"""Small shared helpers: seeding and device selection."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "resolve_device"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so the same seed gives the same result on CPU."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Resolve a device name to a :class:`torch.device`, checked before any work.

    'auto' (or None) picks cuda when available; else 'cpu', 'cuda', 'cuda:N' (N < the number of GPUs) or
    'mps' (where available). Anything else — 'meta', an unknown name, a GPU this machine lacks — is a ValueError
    naming the device, raised before any work.

    Args:
        device: 'auto', None, a device name or a :class:`torch.device`.

    Returns:
        The device to use.

    Raises:
        ValueError: the device is unknown or not available on this machine.
    """
    usage = "use 'cpu', 'cuda', 'cuda:N' or 'auto'"
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as err:
        raise ValueError(f"unknown device {device!r}: {usage}") from err
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(device)!r} was requested but torch.cuda.is_available() is False on this machine"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"device {str(device)!r}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}"
            )
        return device
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                "device 'mps' was requested but torch.backends.mps.is_available() is False on this machine"
            )
        return device
    raise ValueError(f"device {str(device)!r} cannot train models: {usage}")


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the system (Linux only).

    A full-batch epoch allocates and frees the same handful of N x hidden tensors every step. Each is larger than
    glibc's mmap threshold (at most 32 MiB), so by default every allocation is a fresh ``mmap`` whose pages fault
    in one by one as torch writes them: on PubMed with 512 hidden that was ~30% of the epoch. With mmap off and
    trimming off, freed blocks are reused and the process's memory stays at its peak. Called by the CLI; returns
    whether it applied (False off glibc).
    """
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or os.environ.get("GRAPHSPARSE_SYSTEM_MALLOC"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
