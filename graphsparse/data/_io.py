"""File helpers shared by the loaders.

The dataset root, the dataset error, checksums (with a cache of verdicts), a restricted unpickler, npz and split
files.

Every shipped file has a known size and sha256 (:data:`~graphsparse.data.checksums.KNOWN_FILES`, copied from the
SOURCE.md tables, shipped inside the package). Loaders check each file they read against it by its content
(``verify=True``, the default): the file is hashed (30 MB take well under a second). No verdict is read from a
file: a cache in the working folder (or anywhere a user can write) could vouch for altered data. Within one
process a verdict is remembered by the file's device, inode, size, modification and change times (the change
time cannot be set back by ``touch``); a file modified less than :data:`RACY_SECONDS` ago is hashed each time (a
later edit within the same timestamp tick would otherwise go unnoticed, as in git's "racy clean" rule).

Every problem with a dataset file (missing, wrong checksum, unreadable, unparsable, wrong shapes or counts) raises
:class:`DatasetError`, a :class:`~graphsparse.graph.GraphError` that names the file and what is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import CACHE_ENV, DATA_ENV, dataset_search_path
from ..graph import GraphError
from .checksums import KNOWN_FILES

__all__ = [
    "DatasetError",
    "dataset_roots",
    "default_root",
    "resolve_root",
    "require_file",
    "dataset_file",
    "sha256_file",
    "cached_sha256",
    "verify_file",
    "parsing",
    "safe_unpickle",
    "load_npz",
    "load_mask_npz",
]

ENV_VAR = DATA_ENV
CACHE_ENV_VAR = CACHE_ENV
RACY_SECONDS = 2.0
FIX_HINT = (
    "restore the file from the repository (git checkout -- datasets/) or fetch the dataset again "
    "(graphsparse datasets fetch NAME)"
)


class DatasetError(GraphError):
    """A dataset file is missing, altered, truncated or unparsable; the message names the file and the problem."""


def dataset_roots() -> list[Path]:
    """The dataset search path (see :func:`graphsparse.config.dataset_search_path`).

    ``$GRAPHSPARSE_DATA`` entries, then the data home's ``datasets/``, then the checkout's shipped ``datasets/``
    folder.
    """
    return dataset_search_path()


def default_root() -> Path:
    """The first root of the dataset search path.

    That is the first ``$GRAPHSPARSE_DATA`` entry when set, else the data home's ``datasets/`` folder; loading
    searches every root, see :func:`dataset_roots`.
    """
    return dataset_roots()[0]


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    return default_root() if root is None else Path(root).expanduser()


def require_file(path: Path) -> Path:
    """``path`` if it is a file, else a DatasetError naming the missing path."""
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path} ({FIX_HINT})")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------- checksum verdicts
_LOCK = threading.Lock()
_MEMO: dict[tuple[str, int, int, int, int, int], str] = {}  # this process's verdicts, by file identity


def _identity(path: Path) -> tuple[str, int, int, int, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def cached_sha256(path: Path, fresh: bool = False) -> str:
    """sha256 of ``path``'s content.

    It is hashed, or remembered by this process for the same file unchanged (device, inode, size, mtime and ctime);
    ``fresh`` always hashes. Nothing is read from or written to a cache file.
    """
    key = _identity(path)
    if not fresh:
        with _LOCK:
            if key in _MEMO:
                return _MEMO[key]
    sha = sha256_file(path)
    # A file changed just now is not remembered: a same-size edit within this timestamp tick would keep its key.
    if time.time_ns() - max(key[4], key[5]) > RACY_SECONDS * 1e9 and _identity(path) == key:
        with _LOCK:
            _MEMO[key] = sha
    return sha


def verify_file(root: Path, rel: str, required: bool = False, fresh: bool = False) -> Path:
    """Check ``root / rel`` by content against the known size and sha256 (from the datasets' SOURCE.md files).

    ``fresh``: hashed even when this process checked the unchanged file before.

    A file without a known checksum passes unless ``required`` (used for pickles, which are never loaded unverified).
    A missing file, or a size or checksum mismatch, raises DatasetError naming the file, expected and actual values.
    """
    path = require_file(root / rel)
    known = KNOWN_FILES.get(rel)
    if known is None:
        if required:
            raise DatasetError(f"no known sha256 for {path} ({rel}); refusing to unpickle an unverified file")
        return path
    size, sha = known
    actual_size = path.stat().st_size
    if actual_size != size:
        raise DatasetError(
            f"checksum mismatch for {path}: {actual_size} bytes, expected {size} bytes, sha256 {sha} "
            f"(truncated or altered); {FIX_HINT}"
        )
    actual = cached_sha256(path, fresh=fresh)
    if actual != sha:
        raise DatasetError(f"checksum mismatch for {path}: sha256 {actual}, expected {sha} (altered); {FIX_HINT}")
    return path


def dataset_file(root: Path, rel: str, verify: bool = True) -> Path:
    """``root / rel``, checked against its known sha256 when ``verify``; DatasetError when missing or altered."""
    return verify_file(root, rel) if verify else require_file(root / rel)


@contextlib.contextmanager
def parsing(path: Path | str, what: str = "dataset file") -> Iterator[None]:
    """Turn any failure while reading or interpreting ``path`` into a DatasetError naming it.

    A DatasetError raised inside passes unchanged; other errors (``BadZipFile``, ``zlib.error``, ``EOFError``,
    ``UnicodeDecodeError``, shape errors from numpy/scipy, a Graph that fails validation...) are wrapped.
    """
    try:
        yield
    except DatasetError:
        raise
    except Exception as err:  # noqa: BLE001 - every parse failure becomes the one dataset error
        detail = str(err) or type(err).__name__
        raise DatasetError(f"cannot read {what} {path}: {type(err).__name__}: {detail}") from err


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
    """Verify ``root / rel`` against its known sha256 (always), then unpickle it with a restricted unpickler."""
    path = verify_file(root, rel, required=True)
    try:
        return _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except Exception as err:  # noqa: BLE001 - a damaged pickle can fail in many ways; all become DatasetError
        raise DatasetError(f"cannot unpickle {path}: {type(err).__name__}: {err}") from err


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an npz file (no pickles allowed), with a DatasetError naming the file on failure.

    Every array is read in full, so the zip CRC of each member is checked.
    """
    require_file(path)
    with parsing(path, "npz file"):
        with np.load(path, allow_pickle=False) as f:
            if not hasattr(f, "files"):
                raise DatasetError(f"{path} is a single .npy array, not an npz archive")
            return {k: f[k] for k in f.files}


def load_mask_npz(path: Path, num_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train, val, test)`` boolean masks from a Geom-GCN style split file (0/1 vectors of ``num_nodes``)."""
    arrays = load_npz(path)
    masks = []
    for key in ("train_mask", "val_mask", "test_mask"):
        if key not in arrays:
            raise DatasetError(f"split file {path} has no array {key!r}")
        array = arrays[key]
        if array.shape != (num_nodes,):
            raise DatasetError(f"split file {path}: {key} has shape {list(array.shape)}, expected [{num_nodes}]")
        if array.dtype != bool and not (np.issubdtype(array.dtype, np.number) and np.isin(array, (0, 1)).all()):
            raise DatasetError(f"split file {path}: {key} holds values other than 0/1 ({array.dtype})")
        masks.append(torch.from_numpy(array.astype(bool)))
    return masks[0], masks[1], masks[2]
