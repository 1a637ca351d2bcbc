"""A disk graph as a graph lottery ticket search sees it: the folder, and which undirected edges a level keeps.

A GLT search on a graph larger than memory never builds a :class:`~graphsparse.graph.Graph` of the whole graph.
Its "graph" is a :class:`DiskGLTGraph`: the path of a part-ordered disk graph (:mod:`.diskgraph`) and the level's
keep-bits over the graph's undirected edge ids (:class:`~.edgemask.PackedEdgeMask`, one bit per edge). Pruning
(:meth:`DiskGLTGraph.keep_edges`) only combines bits; the edges are dropped when a batch is cut
(:meth:`.diskgraph.DiskGraph.cut`). A view pickles as its path and its bits, so Ray workers open the folder
themselves and nothing of the graph travels through the object store.

:class:`DiskArray` is a ``.npy`` file of rows by original node id (a distillation teacher's logits), written once and
read a batch of rows at a time.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import GraphError
from .diskgraph import DiskGraph, DiskGraphFacts, folder_fingerprint
from .edgemask import PackedEdgeMask

__all__ = ["DiskGLTGraph", "DiskArray", "mapped_zeros", "work_folder"]


def work_folder(folder: str | os.PathLike[str]) -> Path:
    """Where a search keeps the files it derives from disk graph ``folder`` (scores, teacher logits).

    A sibling folder, ``<folder>.work``: wherever the graph is opened by path (every Ray worker of a machine, or
    of a cluster with a shared file system), its derived files are too.
    """
    folder = Path(folder).absolute()
    return folder.parent / f"{folder.name}.work"


def mapped_zeros(numel: int, folder: str | os.PathLike[str]) -> torch.Tensor:
    """A float32 tensor of ``numel`` zeros over a memory-mapped file in ``folder``, unlinked at once.

    The file has no name from the start, so it goes away with the last reference to the tensor, also when the
    process is killed; its pages are the kernel's to write back and drop, not anonymous memory.

    Args:
        numel: the number of entries.
        folder: where the file is made (created if missing).

    Returns:
        A writable, file-backed 1-D tensor.
    """
    import tempfile

    Path(folder).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder) as handle:  # unlinked already; the mapping keeps the pages
        handle.truncate(4 * max(int(numel), 1))
        array = np.memmap(handle, dtype=np.float32, mode="r+", shape=(max(int(numel), 1),))
    return torch.from_numpy(array)[: int(numel)]


class DiskGLTGraph(DiskGraphFacts):
    """A disk graph's nodes and the undirected edges a GLT level keeps of it.

    Args:
        folder: the disk graph (with ``edge_ids.npy``).
        keep: the kept edges over the graph's undirected edge ids (None: every edge).

    Raises:
        GraphError: the folder is no disk graph, has no edge ids, or ``keep`` covers another number of edges.
    """

    directed = False

    def __init__(self, folder: str | os.PathLike[str], keep: PackedEdgeMask | None = None) -> None:
        """Read the folder's ``meta.json`` and check ``keep`` against it (see the class docstring)."""
        self.folder = Path(folder).absolute()
        self.meta = DiskGraph.read_meta(self.folder)
        if "edge_ids" not in self.meta.get("files", {}):
            raise GraphError(
                f"{self.folder}: the disk graph has no edge_ids.npy (written by an older graphsparse); a GLT search "
                "needs undirected edge ids: write the folder again with this version"
            )
        total = int(self.meta["num_edges"])
        if keep is not None and keep.num_edges != total:
            raise GraphError(f"{self.folder}: keep-bits over {keep.num_edges} edges for a graph of {total} edges")
        self.keep = None if keep is not None and keep.all() else keep
        self._num_edges = total if self.keep is None else self.keep.count()
        self._fingerprint: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        """The path, the meta and the bits (what a worker needs to open the graph itself)."""
        return {"folder": self.folder, "meta": self.meta, "keep": self.keep, "_num_edges": self._num_edges}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled view."""
        self.__dict__.update(state, _fingerprint=None)

    def __repr__(self) -> str:
        """The folder and the kept edges."""
        return f"DiskGLTGraph({str(self.folder)!r}, {self.num_edges}/{self.total_edges} edges)"

    @property
    def total_edges(self) -> int:
        """Undirected edges of the unpruned graph (the edge id space)."""
        return int(self.meta["num_edges"])

    @property
    def num_edges(self) -> int:
        """Undirected edges kept."""
        return self._num_edges

    def open(self) -> DiskGraph:
        """The disk graph, memory-mapped."""
        return DiskGraph.open(self.folder)

    def keep_mask(self) -> PackedEdgeMask:
        """The kept edges as bits over every edge id (all set for the unpruned graph)."""
        return self.keep if self.keep is not None else PackedEdgeMask.ones(self.total_edges)

    def keep_edges(self, mask: PackedEdgeMask | torch.Tensor | np.ndarray) -> DiskGLTGraph:
        """The edges of this view that ``mask`` keeps too.

        Unlike :meth:`Graph.keep_edges`, the ids never change: ``mask`` is over the unpruned graph's edge ids
        (``total_edges`` entries), whatever this view already removed.

        Args:
            mask: keep-bits, or a boolean vector, over the graph's edge ids.

        Returns:
            The pruned view.

        Raises:
            GraphError: ``mask`` covers another number of edges.
        """
        if not isinstance(mask, PackedEdgeMask):
            flat = torch.as_tensor(mask).reshape(-1)
            if flat.numel() != self.total_edges:
                raise GraphError(
                    f"{self.folder}: an edge mask of {flat.numel()} entries for a graph of {self.total_edges} edges"
                )
            mask = PackedEdgeMask.from_bool(flat)
        combined = mask if self.keep is None else (mask & self.keep)
        return DiskGLTGraph(self.folder, combined)

    def kept_rank(self, ids: torch.Tensor) -> torch.Tensor:
        """Position of each kept edge id among the kept edges (the edge ids of an in-memory pruned graph).

        A learnable edge mask over the kept edges (as a pruned :class:`Graph` numbers them) is indexed by them.

        Args:
            ids: kept edge ids.

        Returns:
            Their ranks, int64.
        """
        if self.keep is None:
            return ids.to(torch.int64)
        return torch.from_numpy(self.keep.rank(ids))

    def fingerprint(self) -> str:
        """A content fingerprint: the folder's (:func:`~.diskgraph.folder_fingerprint`) and the kept edges' bits."""
        if self._fingerprint is None:
            h = hashlib.sha256(folder_fingerprint(self.folder).encode())
            if self.keep is not None:
                h.update(hashlib.sha256(np.ascontiguousarray(self.keep.bits).tobytes()).digest())
            self._fingerprint = h.hexdigest()
        return self._fingerprint


@dataclass(frozen=True)
class DiskArray:
    """A float32 ``.npy`` file of rows indexed by original node id (e.g. a teacher's logits), read by rows.

    Attributes:
        path: the file.
        shape: ``(rows, columns)``.
    """

    path: str
    shape: tuple[int, int]

    @staticmethod
    def create(folder: str | os.PathLike[str], shape: tuple[int, int], prefix: str = "array") -> np.memmap:
        """A new writable memory-mapped file under ``folder`` (a unique name); wrap it with :meth:`of` when full.

        Args:
            folder: where the file goes (created if missing).
            shape: ``(rows, columns)``.
            prefix: the start of the file's name.

        Returns:
            The writable memory map (zeros).
        """
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = Path(folder) / f"{prefix}-{uuid.uuid4().hex}.npy"
        return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)

    @classmethod
    def of(cls, array: np.memmap) -> DiskArray:
        """The written memory map as a handle (flushed)."""
        array.flush()
        return cls(str(array.filename), (int(array.shape[0]), int(array.shape[1])))

    def to(self, device: Any) -> DiskArray:
        """The handle itself: rows are moved where they are used."""
        return self

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """The rows of original node ids ``index`` as a float32 tensor.

        Raises:
            GraphError: the file is missing or not of its recorded shape.
        """
        try:
            array = np.load(self.path, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise GraphError(f"{self.path}: cannot read the array ({err})") from None
        if tuple(array.shape) != tuple(self.shape):
            raise GraphError(f"{self.path}: holds {list(array.shape)}, expected {list(self.shape)}")
        return torch.from_numpy(np.asarray(array[index.cpu().numpy()], dtype=np.float32))
