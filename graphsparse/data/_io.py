"""File helpers shared by the loaders: dataset root, checksums, a restricted unpickler, split files."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import GraphError
from .checksums import KNOWN_FILES

__all__ = [
    "default_root",
    "resolve_root",
    "require_file",
    "sha256_file",
    "verify_file",
    "safe_unpickle",
    "load_npz",
    "load_mask_npz",
]

ENV_VAR = "GRAPHSPARSE_DATA"


def default_root() -> Path:
    """The dataset root: ``$GRAPHSPARSE_DATA`` when set, else the repository's ``datasets/`` folder."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "datasets"


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    return default_root() if root is None else Path(root).expanduser()


def require_file(path: Path) -> Path:
    """``path`` if it is a file, else a GraphError naming the missing path."""
    if not path.is_file():
        raise GraphError(f"dataset file not found: {path}")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(root: Path, rel: str, required: bool = False) -> Path:
    """Check ``root / rel`` against the known size and sha256 (from the datasets' SOURCE.md files).

    A file without a known checksum passes unless ``required`` (used for pickles, which are never loaded unverified).
    A size or checksum mismatch raises GraphError naming the file.
    """
    path = require_file(root / rel)
    known = KNOWN_FILES.get(rel)
    if known is None:
        if required:
            raise GraphError(f"no known sha256 for {path} ({rel}); refusing to unpickle an unverified file")
        return path
    size, sha = known
    actual_size = path.stat().st_size
    if actual_size != size:
        raise GraphError(f"checksum mismatch for {path}: {actual_size} bytes, expected {size} (truncated or altered?)")
    actual = sha256_file(path)
    if actual != sha:
        raise GraphError(f"checksum mismatch for {path}: sha256 {actual}, expected {sha}")
    return path


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the handful of globals the Planetoid pickles use (numpy arrays, scipy CSR, defaultdict(list))."""

    @staticmethod
    def _allowed() -> dict[tuple[str, str], Any]:
        import collections

        import scipy.sparse as sp

        reconstruct = getattr(np, "_core", np).multiarray._reconstruct  # numpy 2 moved numpy.core to numpy._core
        return {
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix,
            ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix,
            ("collections", "defaultdict"): collections.defaultdict,
            ("__builtin__", "list"): list,
            ("builtins", "list"): list,
        }

    def find_class(self, module: str, name: str) -> Any:
        allowed = self._allowed()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a dataset pickle")
        return allowed[(module, name)]


def safe_unpickle(root: Path, rel: str) -> Any:
    """Verify ``root / rel`` against its known sha256, then unpickle it with a restricted unpickler."""
    path = verify_file(root, rel, required=True)
    try:
        return _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise GraphError(f"cannot unpickle {path}: {err}") from err


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an npz file (no pickles allowed), with a GraphError naming the file on failure."""
    require_file(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise GraphError(f"cannot read npz file {path}: {err}") from err


def load_mask_npz(path: Path, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train, val, test)`` boolean masks from a Geom-GCN style split file."""
    arrays = load_npz(path)
    masks = []
    for key in ("train_mask", "val_mask", "test_mask"):
        if key not in arrays:
            raise GraphError(f"split file {path} has no array {key!r}")
        mask = torch.from_numpy(arrays[key].astype(bool))
        if mask.shape != (num_nodes,):
            raise GraphError(f"split file {path}: {key} has shape {list(mask.shape)}, expected [{num_nodes}]")
        masks.append(mask)
    return masks[0], masks[1], masks[2]
