"""Graphs on disk, read through memory maps: the storage behind out-of-core Cluster-GCN.

A *disk graph* is a folder of ``.npy`` files plus ``meta.json``. Its rows (nodes) are ordered by part, so the rows,
CSR rows and features of a part — and of any run of consecutive parts — are contiguous slices of every file, and
:meth:`DiskGraph.open` can map just those slices. A folder written straight from a generator has one part and the
identity permutation; :func:`reorder_disk_graph` rewrites it (or :func:`write_disk_graph` a :class:`Graph`) in
the order of a node partition.

Layout (format 1)::

    meta.json         format, name, num_nodes, num_edges (undirected), nnz, num_parts, num_features,
                      num_classes, splits, files {name: [dtype, shape]}, info {...}   (written last)
    part_ptr.npy      int64 [P + 1]   rows of part p: part_ptr[p] .. part_ptr[p + 1]
    perm.npy          int32 [N]       original node id of each row (int64 when N >= 2^31)
    indptr.npy        int32 [N + 1]   CSR row pointers of the directed view (int64 when nnz >= 2^31)
    indices.npy       int32 [nnz]     neighbour *rows* (not original ids), ascending in each row, no self-loops
    x.npy             float32 [N, F]  features (absent without features)
    y.npy             int64 [N]       labels (absent without labels)
    split-<name>.npy  uint8 [N]       bit 0 train, bit 1 val, bit 2 test

Writers never hold the whole graph twice: files are written sequentially in row chunks (:class:`NpyWriter`), and
the folder is written under a temporary name and renamed into place only when complete, so a reader never sees a
half-written folder. Readers check ``meta.json`` against every header and file size, and name the file, field
and value of whatever does not match (a truncated file, a wrong dtype or shape, pointers out of order).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import Graph, GraphError

__all__ = [
    "FORMAT",
    "DiskGraph",
    "NpyWriter",
    "index_dtype",
    "read_npy_header",
    "write_disk_graph",
    "reorder_disk_graph",
    "finish_disk_graph",
    "graph_csr",
]

FORMAT = 1
_ROW_CHUNK = 1 << 16  # rows per write step (bounds the temporaries of the reordering writers)
SPLIT_BITS = {"train": 1, "val": 2, "test": 4}


def index_dtype(count: int) -> np.dtype:
    """int32 when every value (node ids or CSR offsets up to ``count``) fits, else int64."""
    return np.dtype(np.int32) if count < 2**31 else np.dtype(np.int64)


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


class NpyWriter:
    """Write an ``.npy`` file of known dtype and shape sequentially, chunk by chunk (nothing held in memory)."""

    def __init__(self, path: Path, dtype: Any, shape: tuple[int, ...]) -> None:
        """Create ``path`` and write its ``.npy`` header; the rows follow with :meth:`write`.

        Args:
            path: the file to write (replaced if it exists).
            dtype: the array's dtype.
            shape: the array's full shape (rows first).
        """
        self.path, self.dtype, self.shape = Path(path), np.dtype(dtype), tuple(int(s) for s in shape)
        self._row = int(np.prod(self.shape[1:], dtype=np.int64))
        self._rows = 0
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_2_0(self._file, header)

    def write(self, chunk: np.ndarray) -> None:
        """Append the rows of ``chunk`` (converted to the file's dtype).

        Args:
            chunk: rows whose trailing shape is the file's.

        Raises:
            GraphError: the chunk's rows have another shape.
        """
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        if chunk.shape[1:] != self.shape[1:]:
            raise GraphError(f"{self.path.name}: chunk of shape {list(chunk.shape)} for rows of {list(self.shape)}")
        self._rows += chunk.shape[0] if chunk.ndim else 1
        chunk.tofile(self._file)

    def close(self) -> None:
        """Close the file.

        Raises:
            GraphError: the rows written are not as many as the header declares.
        """
        self._file.close()
        if self._rows != self.shape[0]:
            raise GraphError(f"{self.path.name}: wrote {self._rows} rows, its header declares {self.shape[0]}")


def _mask_codes(split: Any) -> np.ndarray:
    """uint8 codes (bit 0 train, bit 1 val, bit 2 test) of a Split or (train, val, test) masks."""
    train, val, test = (np.asarray(m, dtype=bool) for m in split)
    return (train * 1 + val * 2 + test * 4).astype(np.uint8)


def graph_csr(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """(indptr int64, indices) of the directed view of an undirected graph, neighbours ascending in each row."""
    n = graph.num_nodes
    u, v = graph.edges.numpy()
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    order = np.lexsort((dst, src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order].astype(index_dtype(n))


def _check_source(graph: Graph) -> None:
    if graph.directed:
        raise GraphError(f"graph {graph.name!r} is directed; a disk graph holds undirected graphs")
    if graph.edge_weight is not None:
        raise GraphError(f"graph {graph.name!r} has edge weights; a disk graph holds unweighted graphs only")


def _parts_order(parts: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(perm, part_ptr): rows grouped by part, original order inside a part."""
    parts = np.asarray(parts, dtype=np.int64)
    if parts.shape != (num_nodes,):
        raise GraphError(f"partition has {list(parts.shape)} entries for {num_nodes} nodes")
    if parts.size and int(parts.min()) < 0:
        raise GraphError("a disk graph needs every node in a part; the partition holds part -1 (train_only?)")
    perm = np.argsort(parts, kind="stable")
    part_ptr = np.zeros(int(parts.max()) + 2 if parts.size else 1, dtype=np.int64)
    np.cumsum(np.bincount(parts), out=part_ptr[1:])
    return perm, part_ptr


def write_disk_graph(
    folder: str | os.PathLike[str], graph: Graph, parts: Any | None = None, info: dict | None = None
) -> Path:
    """Write ``graph`` (undirected, unweighted) to ``folder`` with its rows ordered by ``parts``.

    ``parts`` is ``[N]`` (None: one part); ``info`` goes into ``meta.json``. Returns the folder; an existing folder
    is replaced only once the new one is complete.
    """
    _check_source(graph)
    n = graph.num_nodes
    indptr, indices = graph_csr(graph)
    perm, part_ptr = _parts_order(np.zeros(n, dtype=np.int64) if parts is None else np.asarray(parts), n)
    source = _ArraySource(indptr, indices, graph)
    return _write_reordered(Path(folder), source, perm, part_ptr, graph.name, dict(info or {}))


@dataclass
class _ArraySource:
    """Rows in their original order: in-memory arrays, or memory maps reopened on request (see ``fresh``)."""

    indptr: np.ndarray
    indices: np.ndarray
    graph: Graph | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    reopen: Callable[[], _ArraySource] | None = None

    def __post_init__(self) -> None:
        if self.graph is not None:
            g = self.graph
            self.x = None if g.x is None else g.x.numpy()
            self.y = None if g.y is None else g.y.numpy()
            self.codes = {name: _mask_codes(s) for name, s in g.splits.items()}

    def fresh(self) -> _ArraySource:
        """The same source with its memory maps unmapped and mapped again.

        Pages already read leave this process's resident set, so a pass over a large file does not accumulate it all.
        """
        return self.reopen() if self.reopen is not None else self


def _write_reordered(
    folder: Path, source: _ArraySource, perm: np.ndarray, part_ptr: np.ndarray, name: str, info: dict
) -> Path:
    n = perm.size
    nnz = int(source.indptr[-1])
    inverse = np.empty(n, dtype=index_dtype(n))
    inverse[perm] = np.arange(n, dtype=inverse.dtype)
    degree = np.diff(np.asarray(source.indptr, dtype=np.int64))
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files: dict[str, list] = {}

    def writer(key: str, dtype: Any, shape: tuple[int, ...]) -> NpyWriter:
        files[key] = [np.dtype(dtype).str, list(shape)]
        return NpyWriter(tmp / f"{key}.npy", dtype, shape)

    w = writer("part_ptr", np.int64, part_ptr.shape)
    w.write(part_ptr)
    w.close()
    w = writer("perm", index_dtype(n), (n,))
    w.write(perm)
    w.close()
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(degree[perm], out=new_indptr[1:])
    w = writer("indptr", index_dtype(nnz), (n + 1,))
    w.write(new_indptr)
    w.close()
    del new_indptr
    num_features = 0 if source.x is None else int(source.x.shape[1])
    outputs = {"indices": writer("indices", index_dtype(n), (nnz,))}
    if source.x is not None:
        outputs["x"] = writer("x", np.float32, (n, num_features))
    if source.y is not None:
        outputs["y"] = writer("y", np.int64, (n,))
    for split_name in source.codes:
        outputs[f"split-{split_name}"] = writer(f"split-{split_name}", np.uint8, (n,))
    for start in range(0, n, _ROW_CHUNK):
        src = source.fresh()
        rows = perm[start : start + _ROW_CHUNK]
        begins, counts = np.asarray(src.indptr[rows], dtype=np.int64), degree[rows]
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        take = np.repeat(begins - offsets[:-1], counts) + np.arange(int(offsets[-1]), dtype=np.int64)
        cols = inverse[np.asarray(src.indices[take])].astype(np.int64)
        # neighbours ascending inside each row: sort by (row in chunk, new column)
        cols += np.repeat(np.arange(rows.size, dtype=np.int64) * n, counts)
        cols.sort()
        outputs["indices"].write(cols % n)
        if src.x is not None:
            outputs["x"].write(np.asarray(src.x[rows], dtype=np.float32))
        if src.y is not None:
            outputs["y"].write(np.asarray(src.y[rows]))
        for split_name, codes in src.codes.items():
            outputs[f"split-{split_name}"].write(np.asarray(codes[rows]))
    for w in outputs.values():
        w.close()
    num_classes = 0
    if source.y is not None:
        for start in range(0, n, 1 << 22):
            num_classes = max(num_classes, int(np.asarray(source.y[start : start + (1 << 22)]).max()) + 1)
    meta = {
        "format": FORMAT,
        "name": name,
        "num_nodes": n,
        "num_edges": nnz // 2,
        "nnz": nnz,
        "num_parts": int(part_ptr.size - 1),
        "num_features": num_features,
        "num_classes": num_classes,
        "splits": sorted(source.codes),
        "files": files,
        "info": info,
    }
    return finish_disk_graph(tmp, folder, meta)


def finish_disk_graph(tmp: Path, folder: Path, meta: dict) -> Path:
    """Write ``meta.json`` into the complete temporary folder ``tmp`` and rename it to ``folder``.

    An older folder there is replaced; if another process finished the same folder first, theirs is kept.
    """
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if folder.exists():
        shutil.rmtree(folder)
    try:
        os.replace(tmp, folder)
    except OSError:
        if not (folder / "meta.json").is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def reorder_disk_graph(
    source_folder: str | os.PathLike[str], parts: Any, folder: str | os.PathLike[str], info: dict | None = None
) -> Path:
    """Rewrite the disk graph ``source_folder`` into ``folder`` with rows ordered by ``parts``, out of core.

    ``parts`` is ``[N]``, over the *rows* of the source; the source is read through memory maps, re-mapped every
    chunk of rows.
    """
    source = DiskGraph.open(source_folder)
    if not np.array_equal(source.perm, np.arange(source.num_nodes)):
        raise GraphError(f"{source_folder}: perm.npy is not the identity; reordering needs a source in original order")
    perm, part_ptr = _parts_order(np.asarray(parts), source.num_nodes)

    def reopen() -> _ArraySource:
        view = DiskGraph.open(source_folder)
        return _ArraySource(view.indptr, view.indices, None, view.x, view.y, view.codes, reopen)

    merged = {**source.meta.get("info", {}), **(info or {})}
    name, first = source.name, reopen()
    del source
    return _write_reordered(Path(folder), first, perm, part_ptr, name, merged)


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


@dataclass
class DiskGraph:
    """An opened disk graph, or the share of it holding parts ``parts`` (rows ``row_start:row_stop``).

    Only the rows of those parts are memory-mapped: ``x``, ``y``, ``perm``, the split codes and ``indptr`` hold
    those rows (``indptr`` one more), ``indices`` the CSR entries of those rows. Neighbour ids in ``indices`` and
    the values of ``indptr`` stay global (rows of the whole graph, offsets into the whole ``indices.npy``).
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
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise GraphError(f"{meta_path}: format {found!r}, this version reads format {FORMAT}")
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
        for key in ("part_ptr", "perm", "indptr", "indices"):
            if key not in specs:
                raise GraphError(f"{meta_path}: files lists no {key!r}")
        expected = {"part_ptr": (num_parts + 1,), "perm": (n,), "indptr": (n + 1,), "indices": (nnz,)}
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
        )

    def rows_of(self, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start, stop) rows of the given parts (ascending), checked to be inside the opened share."""
        parts = np.asarray(parts, dtype=np.int64)
        if parts.size and (parts.min() < self.parts.start or parts.max() >= self.parts.stop):
            raise GraphError(f"{self.folder}: parts {parts.tolist()} are outside the opened share {self.parts}")
        return self.part_ptr[parts], self.part_ptr[parts + 1]

    def subgraph(self, parts: Any) -> tuple[Graph, torch.Tensor]:
        """The subgraph induced by the rows of ``parts`` and the original node ids of its nodes.

        Edges between those parts are kept. Nodes come in row order; reads only those rows' slices.
        """
        parts = np.unique(np.asarray(parts, dtype=np.int64))
        starts, stops = self.rows_of(parts)
        sizes = stops - starts
        local_start = np.zeros(parts.size, dtype=np.int64)
        np.cumsum(sizes[:-1], out=local_start[1:])
        n_b = int(sizes.sum())
        base, entry0 = self.row_start, int(self.indptr[0])

        def cat(array: np.ndarray) -> np.ndarray:
            return np.concatenate([array[s - base : e - base] for s, e in zip(starts, stops)])

        # each part's CSR entries are one contiguous slice of indices.npy
        cols = np.concatenate(
            [
                self.indices[int(self.indptr[s - base]) - entry0 : int(self.indptr[e - base]) - entry0]
                for s, e in zip(starts, stops)
            ]
        ).astype(np.int64)
        degree = np.concatenate(
            [np.diff(np.asarray(self.indptr[s - base : e - base + 1])) for s, e in zip(starts, stops)]
        )
        if cols.size and (cols.min() < 0 or cols.max() >= self.num_nodes):
            raise GraphError(
                f"{self.folder / 'indices.npy'} holds a row {int(cols.max())} outside [0, {self.num_nodes})"
            )
        # global row -> batch-local id through the (sorted) part ranges; rows outside the batch get dropped
        which = np.searchsorted(starts, cols, side="right") - 1
        inside = (which >= 0) & (cols < stops[np.maximum(which, 0)])
        local = cols - starts[np.maximum(which, 0)] + local_start[np.maximum(which, 0)]
        row = np.repeat(np.arange(n_b, dtype=np.int64), degree)
        keep = inside & (row < local)  # each undirected edge once, as u < v (CSR order is already (u, v) order)
        edges = torch.from_numpy(np.stack([row[keep], local[keep]]))
        x = None if self.x is None else torch.from_numpy(cat(self.x))
        y = None if self.y is None else torch.from_numpy(cat(self.y).astype(np.int64))
        splits = {}
        for split_name, codes in self.codes.items():
            c = torch.from_numpy(cat(codes))
            splits[split_name] = tuple((c & bit) > 0 for bit in SPLIT_BITS.values())
        graph = Graph(edges, num_nodes=n_b, x=x, y=y, splits=splits, name=self.name)
        return graph, torch.from_numpy(cat(self.perm).astype(np.int64))
