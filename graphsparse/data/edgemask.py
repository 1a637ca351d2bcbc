"""Keep-bits over undirected edge ids, one bit per edge: the edge masks of a GLT search on a graph on disk.

A :class:`PackedEdgeMask` holds ``ceil(E / 8)`` bytes for ``E`` edges (a 30M-edge graph: 3.75 MB, against 30 MB
for a boolean array), so it can sit in every process of a search and travel to Ray workers. Bit order is numpy's
``packbits(..., bitorder="little")``: edge ``k`` is bit ``k % 8`` (least significant first) of byte ``k // 8``;
the padding bits of the last byte are always 0.

File layout (:meth:`PackedEdgeMask.save`, little-endian)::

    bytes 0..11   magic  b"GSPACKEDMASK"
    bytes 12..15  uint32 format version (1)
    bytes 16..23  uint64 num_edges
    bytes 24..    the ceil(num_edges / 8) packed bytes
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import GraphError

__all__ = ["PackedEdgeMask", "BIT_ORDER"]

BIT_ORDER = "little"
_MAGIC = b"GSPACKEDMASK"
_VERSION = 1
_HEADER = len(_MAGIC) + 4 + 8
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
_COUNT_CHUNK = 1 << 24  # bytes counted per step


def _packed_size(num_edges: int) -> int:
    return (num_edges + 7) // 8


class PackedEdgeMask:
    """Keep-bits over undirected edge ids ``0..num_edges-1`` (bit set: the edge is kept).

    The bytes are read-only; every operation returns a new mask.
    """

    __slots__ = ("_bits", "_num_edges", "_before")
    __hash__ = None  # type: ignore[assignment]  # equality is by content; masks are not dictionary keys

    def __init__(self, bits: np.ndarray, num_edges: int) -> None:
        """Wrap packed bytes (see the module docstring for the bit order).

        Args:
            bits: ``uint8 [ceil(num_edges / 8)]`` (a memory map is kept as it is, not copied).
            num_edges: the number of edges (bits) it covers.

        Raises:
            GraphError: a negative ``num_edges``, bytes of another dtype or count, or padding bits set.
        """
        num_edges = int(num_edges)
        if num_edges < 0:
            raise GraphError(f"a packed edge mask needs num_edges >= 0, got {num_edges}")
        bits = np.asarray(bits)
        if bits.dtype != np.uint8 or bits.shape != (_packed_size(num_edges),):
            raise GraphError(
                f"a packed edge mask of {num_edges} edges needs uint8 [{_packed_size(num_edges)}] bytes, "
                f"got {bits.dtype} {list(bits.shape)}"
            )
        tail = num_edges % 8
        if tail and int(bits[-1]) >> tail:
            raise GraphError(f"a packed edge mask of {num_edges} edges has padding bits set in its last byte")
        if bits.flags.writeable:
            bits = bits.copy()
            bits.flags.writeable = False
        self._bits, self._num_edges = bits, num_edges
        self._before: np.ndarray | None = None  # kept edges before each byte (built by the first rank())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_bool(cls, mask: np.ndarray | torch.Tensor) -> PackedEdgeMask:
        """Pack a boolean keep-mask over edge ids.

        Args:
            mask: ``bool [E]``, a numpy array or a torch tensor.

        Returns:
            The packed mask.

        Raises:
            GraphError: the mask is not a boolean vector.
        """
        if isinstance(mask, torch.Tensor):
            mask = mask.detach().cpu().numpy()
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.ndim != 1:
            raise GraphError(f"a keep-mask over edge ids must be a boolean vector, got {mask.dtype} {list(mask.shape)}")
        return cls(np.packbits(mask, bitorder=BIT_ORDER), mask.size)

    @classmethod
    def ones(cls, num_edges: int) -> PackedEdgeMask:
        """Every edge kept.

        Args:
            num_edges: the number of edges.

        Returns:
            The mask with all ``num_edges`` bits set.
        """
        num_edges = int(num_edges)
        if num_edges < 0:
            raise GraphError(f"a packed edge mask needs num_edges >= 0, got {num_edges}")
        bits = np.full(_packed_size(num_edges), 0xFF, dtype=np.uint8)
        if num_edges % 8:
            bits[-1] = (1 << (num_edges % 8)) - 1
        return cls(bits, num_edges)

    # ------------------------------------------------------------------ reading
    @property
    def num_edges(self) -> int:
        """The number of edges (bits) the mask covers."""
        return self._num_edges

    @property
    def bits(self) -> np.ndarray:
        """The packed bytes (read-only)."""
        return self._bits

    def to_bool(self) -> torch.Tensor:
        """The mask as a torch bool tensor ``[E]`` (E bytes: for small graphs and tests).

        Returns:
            The unpacked keep-mask.
        """
        unpacked = np.unpackbits(self._bits, count=self._num_edges, bitorder=BIT_ORDER).astype(bool)
        return torch.from_numpy(unpacked)

    def take(self, ids: Any) -> np.ndarray:
        """The keep-bits of the given edge ids.

        Args:
            ids: integer edge ids (any shape).

        Returns:
            ``bool`` array of the shape of ``ids``.

        Raises:
            GraphError: an id outside ``[0, num_edges)``.
        """
        ids = self._checked_ids(ids)
        return ((self._bits[ids >> 3] >> (ids & 7).astype(np.uint8)) & 1).astype(bool)

    def _checked_ids(self, ids: Any) -> np.ndarray:
        """``ids`` as an ``int64`` array, each in ``[0, num_edges)`` (else a GraphError naming the first bad one)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.detach().cpu().numpy()
        ids = np.asarray(ids)
        if ids.size == 0:
            return ids.astype(np.int64)
        if not np.issubdtype(ids.dtype, np.integer):
            raise GraphError(f"edge ids must be integers, got {ids.dtype}")
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= self._num_edges:
            bad = low if low < 0 else high
            raise GraphError(f"edge id {bad} outside [0, {self._num_edges}) of the packed edge mask")
        return ids.astype(np.int64, copy=False)

    def rank(self, ids: Any) -> np.ndarray:
        """Each kept id's position among the kept edges (the edge id it has in a pruned in-memory graph).

        Args:
            ids: kept edge ids (any shape).

        Returns:
            ``int64`` array of the shape of ``ids``.

        Raises:
            GraphError: an id outside ``[0, num_edges)``.
        """
        ids = self._checked_ids(ids)
        if self._before is None:  # one cumulative count per byte: O(1) per id afterwards
            self._before = np.zeros(self._bits.size + 1, dtype=np.int64)
            np.cumsum(_POPCOUNT[self._bits], out=self._before[1:])
        byte, bit = ids >> 3, ids & 7
        below = self._bits[byte].astype(np.int64) & ((1 << bit) - 1)  # little bit order: bits 0..bit-1 come first
        return self._before[byte] + _POPCOUNT[below]

    def count(self) -> int:
        """The number of kept edges.

        Returns:
            The number of set bits.
        """
        total = 0
        for start in range(0, self._bits.size, _COUNT_CHUNK):
            total += int(_POPCOUNT[self._bits[start : start + _COUNT_CHUNK]].sum())
        return total

    def all(self) -> bool:
        """Whether every edge is kept.

        Returns:
            True when all ``num_edges`` bits are set.
        """
        return self.count() == self._num_edges

    def __len__(self) -> int:
        """The number of edges the mask covers."""
        return self._num_edges

    def __and__(self, other: PackedEdgeMask) -> PackedEdgeMask:
        """Edges kept by both masks.

        Raises:
            GraphError: the masks cover different numbers of edges.
        """
        if not isinstance(other, PackedEdgeMask):
            return NotImplemented
        if other._num_edges != self._num_edges:
            raise GraphError(f"cannot combine edge masks of {self._num_edges} and {other._num_edges} edges")
        return PackedEdgeMask(np.bitwise_and(self._bits, other._bits), self._num_edges)

    def __eq__(self, other: object) -> bool:
        """Same number of edges and the same bits."""
        if not isinstance(other, PackedEdgeMask):
            return NotImplemented
        return self._num_edges == other._num_edges and bool(np.array_equal(self._bits, other._bits))

    def __repr__(self) -> str:
        """Counts only (never the bits)."""
        return f"PackedEdgeMask(num_edges={self._num_edges}, kept={self.count()})"

    def __reduce__(self) -> tuple[Any, tuple[bytes, int]]:
        """Pickle as the packed bytes (E / 8 bytes; a memory-mapped mask is read into them)."""
        return (_from_bytes, (self._bits.tobytes(), self._num_edges))

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the mask to ``path`` (header with ``num_edges``, then the bytes), atomically.

        Args:
            path: the file to write (replaced when complete).

        Returns:
            The path written.
        """
        path = Path(path)
        tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(_MAGIC)
            f.write(np.array([_VERSION], dtype="<u4").tobytes())
            f.write(np.array([self._num_edges], dtype="<u8").tobytes())
            f.write(self._bits.tobytes())
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], mmap: bool = False) -> PackedEdgeMask:
        """Read a mask written by :meth:`save`.

        Args:
            path: the file.
            mmap: map the bytes read-only instead of reading them.

        Returns:
            The mask.

        Raises:
            GraphError: naming the file, when it is missing, not a packed edge mask, of another version, or shorter
                than its header declares.
        """
        path = Path(path)
        try:
            with open(path, "rb") as f:
                header = f.read(_HEADER)
        except FileNotFoundError:
            raise GraphError(f"packed edge mask file {path} is missing") from None
        if len(header) < _HEADER or header[: len(_MAGIC)] != _MAGIC:
            raise GraphError(f"{path} is not a packed edge mask file (no {_MAGIC.decode()} header)")
        version = int(np.frombuffer(header, dtype="<u4", count=1, offset=len(_MAGIC))[0])
        if version != _VERSION:
            raise GraphError(f"{path}: packed edge mask format {version}, this version reads format {_VERSION}")
        num_edges = int(np.frombuffer(header, dtype="<u8", count=1, offset=len(_MAGIC) + 4)[0])
        need = _HEADER + _packed_size(num_edges)
        size = path.stat().st_size
        if size != need:
            raise GraphError(
                f"packed edge mask file {path} is damaged: {size} bytes, its header ({num_edges} edges) needs {need}"
            )
        if mmap and num_edges:
            bits = np.memmap(path, dtype=np.uint8, mode="r", offset=_HEADER, shape=(_packed_size(num_edges),))
        else:
            bits = np.fromfile(path, dtype=np.uint8, offset=_HEADER)
        return cls(bits, num_edges)


def _from_bytes(data: bytes, num_edges: int) -> PackedEdgeMask:
    """Unpickle a :class:`PackedEdgeMask`."""
    return PackedEdgeMask(np.frombuffer(data, dtype=np.uint8).copy(), num_edges)
