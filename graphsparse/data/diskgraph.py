"""Graphs on disk, read through memory maps: the storage behind out-of-core Cluster-GCN.

A *disk graph* is a folder of ``.npy`` files plus ``meta.json``. Its rows (nodes) are ordered by part, so the rows,
CSR rows and features of a part — and of any run of consecutive parts — are contiguous slices of every file, and
:meth:`DiskGraph.open` can map just those slices. A folder written straight from a generator has one part and the
identity permutation; :func:`~graphsparse.data.diskwrite.reorder_disk_graph` rewrites it (or
:func:`~graphsparse.data.diskwrite.write_disk_graph` a :class:`Graph`) in the order of a node partition.

Layout (format 2)::

    meta.json         format, name, num_nodes, num_edges (undirected), nnz, num_parts, num_features, features
                      ("dense", "csr" or null), num_classes, splits, files {name: [dtype, shape]}, info {...}
                      (written last)
    part_ptr.npy      int64 [P + 1]   rows of part p: part_ptr[p] .. part_ptr[p + 1]
    perm.npy          int32 [N]       original node id of each row (int64 when N >= 2^31)
    indptr.npy        int32 [N + 1]   CSR row pointers of the directed view (int64 when nnz >= 2^31)
    indices.npy       int32 [nnz]     neighbour *rows* (not original ids), ascending in each row, no self-loops
    edge_ids.npy      int32 [nnz]     per CSR entry, the id of its undirected edge (int64 when E >= 2^31)
    x.npy             float32 [N, F]  features, dense (absent without features or with CSR features)
    x_indptr.npy      int64 [N + 1]   CSR features (wide, sparse ones: bag-of-words): row pointers,
    x_indices.npy     int32 [nnz_x]   the columns of each row's stored values (ascending),
    x_values.npy      float32 [nnz_x] and the values (every entry whose bits are not +0.0, so -0.0 survives)
    y.npy             int64 [N]       labels (absent without labels)
    split-<name>.npy  uint8 [N]       bit 0 train, bit 1 val, bit 2 test

**Edge ids.** The id of the undirected edge ``{u, v}`` is the rank of ``(min(u, v), max(u, v))`` in *original*
node ids, in lexicographic order: exactly the id the in-memory :class:`Graph` gives it (its ``edges`` columns are
coalesced ``u < v`` pairs, sorted). Both CSR entries of an edge carry its id, and reordering rows carries the ids
with ``indices``, so edge scores, keep-bits (:class:`~graphsparse.data.edgemask.PackedEdgeMask`) and learnable
edge values indexed by id mean the same edges in memory and on disk, whatever the partition. Format 1 (no
``edge_ids.npy``) still opens for plain training; anything needing edge ids (:meth:`DiskGraph.cut`, keep-bits,
edge scores) asks for the folder to be rewritten.

**CSR features.** Features with fewer than ``SPARSE_FEATURE_DENSITY`` (10%) non-zero entries are stored as CSR
(``sparse_features=None`` in the writers; True/False forces it): 8 bytes per non-zero instead of 4 per entry, and
:meth:`DiskGraph.cut` densifies only the batch's rows, bit-identical to the dense file's rows. Coauthor Physics
(34,493 x 8,415, 0.39% non-zero) in 8 METIS parts, on the shared 2-core development machine (one thread; a batch of
2 parts is ~8,600 rows; mean of 20 cuts, warm page cache)::

                   folder      x files     feature rows of 2 parts    whole cut (Graph built)
    dense x.npy    1,165.9 MB  1,161.0 MB  72.9 ms                    663 ms
    CSR x_*.npy       14.2 MB      9.4 MB  53.4 ms (densified)        518 ms

A cut is dominated by the batch Graph's own validation and copy of its ~290 MB dense ``x``; from a cold cache the
dense file reads ~290 MB per such batch, the CSR files ~2.3 MB.

Writers (:mod:`graphsparse.data.diskwrite`) never hold the whole graph twice: files are written sequentially in
row chunks, and the folder is written under a temporary name and renamed into place only when complete, so a reader
never sees a half-written folder. Readers check ``meta.json`` against every header and file size, and name the
file, field and value of whatever does not match (a truncated file, a wrong dtype or shape, pointers out of order).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import Graph, GraphError
from ..graph.batch_graph import with_csr_features
from ..graph.csr import quiet_csr
from ._io import cached_sha256
from .edgemask import PackedEdgeMask

__all__ = [
    "FORMAT",
    "DiskGraph",
    "DiskGraphFacts",
    "check_neighbour_rows",
    "folder_fingerprint",
    "index_dtype",
    "read_npy_header",
    "READABLE_FORMATS",
]

FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1: no edge_ids.npy, dense features only
SPLIT_BITS = {"train": 1, "val": 2, "test": 4}


def index_dtype(count: int) -> np.dtype:
    """int32 when every value (node ids or CSR offsets up to ``count``) fits, else int64."""
    return np.dtype(np.int32) if count < 2**31 else np.dtype(np.int64)


def folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """sha256 over a disk graph folder's ``meta.json`` and the whole content of every file it lists.

    What names a folder's data wherever results or derived files are keyed by it (the METIS partition cache, the
    results store): two folders with the same ``meta.json`` but other bytes (a relabelled copy, features edited in
    place) get other fingerprints. Each file is read once per process while it is unchanged
    (:func:`graphsparse.data._io.cached_sha256`: device, inode, size and timestamps).

    Args:
        folder: a disk graph folder.

    Returns:
        The hex digest.

    Raises:
        GraphError: ``meta.json`` is missing or unreadable, its ``files`` field malformed, or a listed file missing.
    """
    folder = Path(folder)
    meta = DiskGraph.read_meta(folder)
    files = meta.get("files")
    if not isinstance(files, dict):
        raise GraphError(f"{folder / 'meta.json'}: missing or malformed field 'files'")
    h = hashlib.sha256((folder / "meta.json").read_bytes())
    for key in sorted(files):
        path = folder / f"{key}.npy"
        try:
            h.update(f"{key}:{cached_sha256(path)};".encode())
        except FileNotFoundError:
            raise GraphError(f"disk graph file {path} is missing") from None
        except OSError as err:
            raise GraphError(f"disk graph file {path} is unreadable ({err})") from None
    return h.hexdigest()


def check_neighbour_rows(rows: np.ndarray, num_nodes: int, path: Path) -> None:
    """Refuse neighbour rows of ``indices.npy`` outside ``[0, num_nodes)`` (a negative one would index from the end).

    Raises:
        GraphError: naming the file and the first bad value.
    """
    if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= num_nodes):
        bad = int(rows.min()) if int(rows.min()) < 0 else int(rows.max())
        raise GraphError(f"{path} holds a neighbour row {bad} outside [0, {num_nodes})")


def read_npy_header(path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, data offset) of an ``.npy`` file, checking that the file holds all the data it declares."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except FileNotFoundError:
        raise GraphError(f"disk graph file {path} is missing") from None
    except Exception as err:  # noqa: BLE001 - any unreadable header is reported as such
        raise GraphError(f"disk graph file {path} has no readable .npy header ({err})") from None
    if fortran:
        raise GraphError(f"disk graph file {path} is in Fortran order; expected C order")
    size = path.stat().st_size
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < need:
        raise GraphError(f"disk graph file {path} is truncated: {size} bytes, its header {list(shape)} needs {need}")
    return dtype, tuple(int(s) for s in shape), offset


def _map(path: Path, dtype: np.dtype, shape: tuple[int, ...], start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of an ``.npy`` file as a read-only memory map (only those rows are mapped)."""
    have_dtype, have_shape, offset = read_npy_header(path)
    if have_dtype != dtype or have_shape != shape:
        raise GraphError(
            f"disk graph file {path} holds {have_dtype} {list(have_shape)}; meta.json says {dtype} {list(shape)}"
        )
    row = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    rows = (stop - start,) + shape[1:]
    if stop <= start or row == 0:
        return np.zeros(rows, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset + start * row, shape=rows)


def _check_meta_values(meta: dict, meta_path: Path, nnz: int) -> None:
    """The meta.json fields a reader trusts afterwards: counts in range, features stored in a known way."""
    for key in ("num_edges", "num_features", "num_classes"):
        value = meta.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GraphError(f"{meta_path}: {key} must be an integer >= 0, got {value!r}")
    if meta["format"] >= 2 and 2 * meta["num_edges"] != nnz:
        raise GraphError(
            f"{meta_path}: num_edges={meta['num_edges']} undirected edges need nnz={2 * meta['num_edges']} CSR "
            f"entries (both directions), meta.json says nnz={nnz}"
        )
    if meta.get("features") not in (None, "dense", "csr"):
        raise GraphError(f'{meta_path}: features must be "dense", "csr" or null, got {meta.get("features")!r}')
    if not isinstance(meta.get("splits", []), list):
        raise GraphError(f"{meta_path}: splits must be a list of names, got {meta.get('splits')!r}")


class DiskGraphFacts:
    """What a disk graph's ``meta.json`` states (``self.meta``), shared by every view of a folder."""

    meta: dict

    @property
    def name(self) -> str:
        """The graph's name."""
        return str(self.meta["name"])

    @property
    def num_nodes(self) -> int:
        """Nodes of the whole graph (not only of the opened share)."""
        return int(self.meta["num_nodes"])

    @property
    def num_parts(self) -> int:
        """Parts of the whole graph (not only of the opened share)."""
        return int(self.meta["num_parts"])

    @property
    def num_features(self) -> int:
        """Feature columns per node."""
        return int(self.meta["num_features"])

    @property
    def num_classes(self) -> int:
        """Label classes."""
        return int(self.meta["num_classes"])

    @property
    def splits(self) -> list[str]:
        """The names of the stored splits."""
        return list(self.meta["splits"])


@dataclass
class DiskGraph(DiskGraphFacts):
    """An opened disk graph, or the share of it holding parts ``parts`` (rows ``row_start:row_stop``).

    Only the rows of those parts are memory-mapped: ``x``, ``y``, ``perm``, the split codes and ``indptr`` hold
    those rows (``indptr`` one more), ``indices`` and ``edge_ids`` the CSR entries of those rows (``x_indptr``,
    ``x_indices``, ``x_values`` likewise for CSR features). Neighbour ids in ``indices`` and the values of
    ``indptr``/``x_indptr`` stay global (rows of the whole graph, offsets into the whole files).
    """

    folder: Path
    meta: dict
    part_ptr: np.ndarray
    parts: range
    row_start: int
    row_stop: int
    perm: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    x: np.ndarray | None
    y: np.ndarray | None
    codes: dict[str, np.ndarray]
    edge_ids: np.ndarray | None = None
    x_indptr: np.ndarray | None = None
    x_indices: np.ndarray | None = None
    x_values: np.ndarray | None = None

    @property
    def format(self) -> int:
        """The folder's format (1: no edge ids; 2: edge ids, dense or CSR features)."""
        return int(self.meta["format"])

    @property
    def has_edge_ids(self) -> bool:
        """Whether the folder stores the undirected edge id of every CSR entry (format 2)."""
        return self.edge_ids is not None

    @property
    def num_edges(self) -> int:
        """Undirected edges of the whole graph."""
        return int(self.meta["num_edges"])

    @property
    def features(self) -> str | None:
        """How features are stored: ``"dense"`` (``x.npy``), ``"csr"`` (``x_*.npy``) or None (no features)."""
        if self.x_indptr is not None:
            return "csr"
        return None if self.x is None else "dense"

    def require_edge_ids(self, what: str = "this") -> None:
        """Raise unless the folder stores edge ids.

        Args:
            what: what needs them (for the message).

        Raises:
            GraphError: naming the folder and saying to rewrite it.
        """
        if self.edge_ids is None:
            raise GraphError(
                f"{self.folder} is a format-{self.format} disk graph without edge ids (edge_ids.npy); {what} needs "
                f"them: rewrite the folder with this version (write_disk_graph, reorder_disk_graph of its source, "
                f"synthetic_dcsbm_to_disk, or delete a cached partition so it is written again)"
            )

    @property
    def mapped_rows(self) -> int:
        """Rows memory-mapped by this opening (those of the opened share)."""
        return self.row_stop - self.row_start

    @staticmethod
    def read_meta(folder: str | os.PathLike[str]) -> dict:
        """The folder's ``meta.json`` (format checked), without mapping anything."""
        meta_path = Path(folder) / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
        except FileNotFoundError:
            raise GraphError(f"{folder} is not a disk graph: {meta_path.name} is missing (unfinished write?)") from None
        except (OSError, ValueError) as err:
            raise GraphError(f"{meta_path} is unreadable ({err})") from None
        if not isinstance(meta, dict) or meta.get("format") not in READABLE_FORMATS:
            found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise GraphError(f"{meta_path}: format {found!r}, this version reads formats {list(READABLE_FORMATS)}")
        return meta

    @classmethod
    def open(cls, folder: str | os.PathLike[str], parts: Iterable[int] | None = None) -> DiskGraph:
        """Open ``folder`` (all parts, or the consecutive ``parts``, e.g. ``range(10, 20)``), validating it."""
        folder = Path(folder)
        meta = cls.read_meta(folder)
        meta_path = folder / "meta.json"
        try:
            n, nnz, files = int(meta["num_nodes"]), int(meta["nnz"]), dict(meta["files"])
            specs = {k: (np.dtype(v[0]), tuple(int(s) for s in v[1])) for k, v in files.items()}
            num_parts = int(meta["num_parts"])
        except (KeyError, TypeError, ValueError) as err:
            raise GraphError(f"{meta_path}: missing or malformed field ({err})") from None
        _check_meta_values(meta, meta_path, nnz)
        required = ["part_ptr", "perm", "indptr", "indices"] + (["edge_ids"] if meta["format"] >= 2 else [])
        if meta.get("features") == "csr":
            required += ["x_indptr", "x_indices", "x_values"]
        for key in required:
            if key not in specs:
                raise GraphError(f"{meta_path}: files lists no {key!r}")
        expected = {"part_ptr": (num_parts + 1,), "perm": (n,), "indptr": (n + 1,), "indices": (nnz,)}
        if "edge_ids" in specs:
            expected["edge_ids"] = (nnz,)
        if "x_indptr" in specs:
            expected["x_indptr"] = (n + 1,)
        for key, shape in expected.items():
            if specs[key][1] != shape:
                raise GraphError(f"{meta_path}: files.{key} has shape {list(specs[key][1])}, expected {list(shape)}")
        part_ptr = np.array(_map(folder / "part_ptr.npy", *specs["part_ptr"], 0, num_parts + 1))
        if part_ptr[0] != 0 or part_ptr[-1] != n or bool((np.diff(part_ptr) < 0).any()):
            raise GraphError(f"{folder / 'part_ptr.npy'}: part offsets must rise from 0 to num_nodes={n}")
        parts = range(num_parts) if parts is None else parts
        parts = parts if isinstance(parts, range) else range(min(parts), max(parts) + 1)
        if parts.step != 1 or parts.start < 0 or parts.stop > num_parts or len(parts) == 0:
            raise GraphError(f"{folder}: cannot open parts {parts} of {num_parts} (consecutive, non-empty, in range)")
        a, b = int(part_ptr[parts.start]), int(part_ptr[parts.stop])

        def rows(key: str, start: int, stop: int) -> np.ndarray | None:
            if key not in specs:
                return None
            return _map(folder / f"{key}.npy", *specs[key], start, stop)

        indptr = rows("indptr", a, b + 1)
        lo, hi = int(indptr[0]), int(indptr[-1])
        if hi < lo or hi > nnz or bool((np.diff(indptr) < 0).any()):
            raise GraphError(f"{folder / 'indptr.npy'}: row pointers of rows {a}..{b} fall or leave [0, nnz={nnz}]")
        codes = {name: rows(f"split-{name}", a, b) for name in meta.get("splits", [])}
        x_indptr = x_indices = x_values = None
        if "x_indptr" in specs:
            x_indptr = rows("x_indptr", a, b + 1)
            x_lo, x_hi = int(x_indptr[0]), int(x_indptr[-1])
            nnz_x = specs["x_indices"][1][0]
            if x_hi < x_lo or x_hi > nnz_x or bool((np.diff(x_indptr) < 0).any()):
                raise GraphError(
                    f"{folder / 'x_indptr.npy'}: row pointers of rows {a}..{b} fall or leave [0, nnz_x={nnz_x}]"
                )
            if specs["x_values"][1] != (nnz_x,):
                raise GraphError(f"{meta_path}: x_values and x_indices hold different numbers of entries")
            x_indices, x_values = rows("x_indices", x_lo, x_hi), rows("x_values", x_lo, x_hi)
        return cls(
            folder,
            meta,
            part_ptr,
            parts,
            a,
            b,
            rows("perm", a, b),
            indptr,
            rows("indices", lo, hi),
            rows("x", a, b),
            rows("y", a, b),
            {k: v for k, v in codes.items() if v is not None},
            rows("edge_ids", lo, hi),
            x_indptr,
            x_indices,
            x_values,
        )

    def rows_of(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, stop) rows of the given parts (ascending), checked to be inside the opened share."""
        parts = np.asarray(parts, dtype=np.int64)
        if parts.size and (parts.min() < self.parts.start or parts.max() >= self.parts.stop):
            raise GraphError(f"{self.folder}: parts {parts.tolist()} are outside the opened share {self.parts}")
        return self.part_ptr[parts], self.part_ptr[parts + 1]

    def subgraph(self, parts: Any) -> tuple[Graph, torch.Tensor]:
        """The subgraph induced by the rows of ``parts`` and the original node ids of its nodes.

        Edges between those parts are kept. Nodes come in row order; reads only those rows' slices. Works on
        format-1 folders (see :meth:`cut` for keep-bits and edge ids).

        Args:
            parts: part ids (any order; duplicates ignored) inside the opened share.

        Returns:
            ``(graph, nodes)``.
        """
        graph, nodes, _ = self._cut(parts, None, False)
        return graph, nodes

    def cut(self, parts: Any, keep: PackedEdgeMask | None = None) -> tuple[Graph, torch.Tensor, torch.Tensor]:
        """The batch of ``parts``: their induced subgraph minus the edges ``keep`` prunes, with ids back to the graph.

        Args:
            parts: part ids (any order; duplicates ignored) inside the opened share.
            keep: keep-bits over the graph's undirected edge ids (None: every edge kept).

        Returns:
            ``(graph, nodes, edge_ids)``: the batch graph (nodes in row order), the original id of each of its
            nodes (int64 ``[n_b]``), and the undirected edge id (int64 ``[m_b]``) of each column of
            ``graph.edges``, in that column order.

        Raises:
            GraphError: the folder has no edge ids, ``keep`` covers another number of edges, or a part is outside
                the opened share.
        """
        return self._cut(parts, keep, True)

    def _cut(
        self, parts: Any, keep: PackedEdgeMask | None, with_ids: bool
    ) -> tuple[Graph, torch.Tensor, torch.Tensor | None]:
        if with_ids or keep is not None:
            self.require_edge_ids("cutting batches with keep-bits or edge ids")
        if keep is not None and keep.num_edges != self.num_edges:
            raise GraphError(f"{self.folder}: keep-bits over {keep.num_edges} edges, the graph has {self.num_edges}")
        parts = np.unique(np.asarray(parts, dtype=np.int64))
        starts, stops = self.rows_of(parts)
        sizes = stops - starts
        local_start = np.zeros(parts.size, dtype=np.int64)
        np.cumsum(sizes[:-1], out=local_start[1:])
        n_b = int(sizes.sum())
        base, entry0 = self.row_start, int(self.indptr[0])

        def cat(array: np.ndarray) -> np.ndarray:
            return np.concatenate([array[s - base : e - base] for s, e in zip(starts, stops)])

        # each part's CSR entries are one contiguous slice of indices.npy (and of edge_ids.npy)
        slices = [
            (int(self.indptr[s - base]) - entry0, int(self.indptr[e - base]) - entry0) for s, e in zip(starts, stops)
        ]
        cols = np.concatenate([self.indices[a:b] for a, b in slices]).astype(np.int64)
        degree = np.concatenate(
            [np.diff(np.asarray(self.indptr[s - base : e - base + 1])) for s, e in zip(starts, stops)]
        )
        check_neighbour_rows(cols, self.num_nodes, self.folder / "indices.npy")
        # global row -> batch-local id through the (sorted) part ranges; rows outside the batch get dropped
        which = np.searchsorted(starts, cols, side="right") - 1
        inside = (which >= 0) & (cols < stops[np.maximum(which, 0)])
        local = cols - starts[np.maximum(which, 0)] + local_start[np.maximum(which, 0)]
        del cols, which
        row = np.repeat(np.arange(n_b, dtype=np.int64), degree)
        # each undirected edge once, as u < v; local ids rise with rows, so CSR order is the sorted (u, v) order
        # the Graph stores: column k of the batch graph is the k-th entry kept here
        chosen = np.flatnonzero(inside & (row < local))
        edge_ids = None
        if with_ids or keep is not None:
            ids = np.concatenate([self.edge_ids[a:b] for a, b in slices])[chosen].astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_edges):
                bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
                raise GraphError(f"{self.folder / 'edge_ids.npy'} holds an edge id {bad} outside [0, {self.num_edges})")
            if keep is not None:
                kept = keep.take(ids)
                chosen, ids = chosen[kept], ids[kept]
            edge_ids = torch.from_numpy(ids)
        edges = torch.from_numpy(np.stack([row[chosen], local[chosen]]))
        del row, local, inside
        x = None if self.x is None else torch.from_numpy(cat(self.x))
        y = None if self.y is None else torch.from_numpy(cat(self.y).astype(np.int64))
        if y is not None and y.numel() and int(y.max()) >= self.num_classes:  # else an IndexError inside the loss
            raise GraphError(
                f"{self.folder / 'y.npy'} holds label {int(y.max())}, but meta.json says num_classes="
                f"{self.num_classes} (labels 0..{self.num_classes - 1}, or -1 for unlabelled)"
            )
        splits = {}
        for split_name, codes in self.codes.items():
            c = torch.from_numpy(cat(codes))
            if c.numel() and int(c.max()) > sum(SPLIT_BITS.values()):
                raise GraphError(
                    f"{self.folder / f'split-{split_name}.npy'} holds code {int(c.max())}; codes combine the bits "
                    "1 train, 2 val and 4 test (0-7)"
                )
            splits[split_name] = tuple((c & bit) > 0 for bit in SPLIT_BITS.values())
        graph = Graph(edges, num_nodes=n_b, x=x, y=y, splits=splits, name=self.name)
        if self.x_indptr is not None:  # the CSR rows for the model; the dense copy only if something reads x
            degree, columns, values = self._csr_parts(starts, stops)
            graph = with_csr_features(
                graph,
                self._csr_tensor(degree, columns, values),
                dense=lambda: torch.from_numpy(self._densify(degree, columns, values)),
            )
        return graph, torch.from_numpy(cat(self.perm).astype(np.int64)), edge_ids

    def feature_rows(self, start: int | None = None, stop: int | None = None) -> np.ndarray | None:
        """Dense float32 features of rows ``start:stop`` (global rows; default: the opened share), however stored.

        Args:
            start: first row (default: the share's first).
            stop: row after the last (default: the share's end).

        Returns:
            ``float32 [stop - start, F]`` (a copy for CSR features, a memory-mapped slice for dense ones), or None
            without features.

        Raises:
            GraphError: rows outside the opened share.
        """
        start = self.row_start if start is None else int(start)
        stop = self.row_stop if stop is None else int(stop)
        if not self.row_start <= start <= stop <= self.row_stop:
            raise GraphError(
                f"{self.folder}: rows {start}..{stop} leave the opened share {self.row_start}..{self.row_stop}"
            )
        if self.x is not None:
            return self.x[start - self.row_start : stop - self.row_start]
        if self.x_indptr is None:
            return None
        return self._dense_rows(np.array([start]), np.array([stop]))

    def _csr_parts(self, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The CSR features of rows ``starts[i]:stops[i]`` (concatenated): row lengths, columns, values (checked)."""
        base, x0 = self.row_start, int(self.x_indptr[0])
        pointers = [np.asarray(self.x_indptr[s - base : e - base + 1], dtype=np.int64) for s, e in zip(starts, stops)]
        degree = np.concatenate([np.diff(p) for p in pointers])
        columns = np.concatenate([self.x_indices[p[0] - x0 : p[-1] - x0] for p in pointers]).astype(np.int64)
        values = np.concatenate([self.x_values[p[0] - x0 : p[-1] - x0] for p in pointers]).astype(np.float32)
        if columns.size and (columns.min() < 0 or columns.max() >= self.num_features):
            raise GraphError(f"{self.folder / 'x_indices.npy'} holds a column outside [0, {self.num_features})")
        if not bool(np.isfinite(values).all()):
            raise GraphError(f"{self.folder / 'x_values.npy'} holds a non-finite feature value")
        rows = np.repeat(np.arange(degree.size), degree)
        ascending = (rows[1:] > rows[:-1]) | (columns[1:] > columns[:-1])
        if not bool(ascending.all()):  # graphsparse writes each row's columns ascending; another writer may not
            order = np.lexsort((columns, rows))
            rows, columns, values = rows[order], columns[order], values[order]
            if bool(((rows[1:] == rows[:-1]) & (columns[1:] == columns[:-1])).any()):
                raise GraphError(f"{self.folder / 'x_indices.npy'} holds a column twice in one row")
        return degree, columns, values

    def _csr_tensor(self, degree: np.ndarray, columns: np.ndarray, values: np.ndarray) -> torch.Tensor:
        """:meth:`_csr_parts` as a torch CSR tensor."""
        indptr = np.zeros(degree.size + 1, dtype=np.int64)
        np.cumsum(degree, out=indptr[1:])
        with quiet_csr():
            return torch.sparse_csr_tensor(
                torch.from_numpy(indptr),
                torch.from_numpy(columns),
                torch.from_numpy(values),
                size=(int(degree.size), self.num_features),
                check_invariants=False,  # _csr_parts checked the columns (range, order, no repeats)
            )

    def _densify(self, degree: np.ndarray, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """:meth:`_csr_parts` as a dense float32 array: the stored values bit for bit (-0.0 included)."""
        dense = np.zeros((degree.size, self.num_features), dtype=np.float32)
        dense[np.repeat(np.arange(degree.size), degree), columns] = values
        return dense

    def _dense_rows(self, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """The CSR features of rows ``starts[i]:stops[i]`` (concatenated) as a dense float32 array."""
        return self._densify(*self._csr_parts(starts, stops))
