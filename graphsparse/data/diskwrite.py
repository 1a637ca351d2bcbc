"""Writing disk graphs (:mod:`graphsparse.data.diskgraph` describes the layout and reads them).

:func:`write_disk_graph` writes a :class:`~graphsparse.graph.Graph` with its rows ordered by a partition,
:func:`reorder_disk_graph` rewrites a one-part folder in the order of a partition out of core, and
:class:`NpyWriter` / :func:`finish_disk_graph` are the pieces other writers (the synthetic generator, the OGB
streamer) build folders with. Files are written sequentially in row chunks, never holding the whole graph twice,
under a temporary folder renamed into place only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import Graph, GraphError
from .diskgraph import FORMAT, DiskGraph, check_neighbour_rows, index_dtype

__all__ = [
    "NpyWriter",
    "write_disk_graph",
    "reorder_disk_graph",
    "finish_disk_graph",
    "graph_csr",
    "SPARSE_FEATURE_DENSITY",
    "csr_worth_it",
]

SPARSE_FEATURE_DENSITY = 0.1  # features with fewer non-zero entries than this fraction are written as CSR
_ROW_CHUNK = 1 << 16  # rows per write step (bounds the temporaries of the reordering writers)


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
    indptr, indices, _ = _graph_csr(graph)
    return indptr, indices


def _graph_csr(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`graph_csr` and, per CSR entry, the id of its undirected edge (the graph's column of it)."""
    n, m = graph.num_nodes, graph.num_edges
    u, v = graph.edges.numpy()
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    order = np.lexsort((dst, src))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    ids = np.arange(m, dtype=index_dtype(m))
    return indptr, dst[order].astype(index_dtype(n)), np.concatenate([ids, ids])[order]


def _nonzero_bits(rows: np.ndarray) -> np.ndarray:
    """Where float32 ``rows`` are not +0.0 (bit patterns: -0.0 counts as stored, so densifying is bit-exact)."""
    return np.ascontiguousarray(rows, dtype=np.float32).view(np.uint32) != 0


def _row_nonzeros(x: Any, n: int) -> np.ndarray:
    """Stored entries per row of dense features (chunk by chunk)."""
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, n, _ROW_CHUNK):
        counts[start : start + _ROW_CHUNK] = _nonzero_bits(np.asarray(x[start : start + _ROW_CHUNK])).sum(1)
    return counts


def csr_worth_it(stored: int, entries: int) -> bool:
    """The writer's rule: features with ``stored`` of ``entries`` non-zero (bitwise) go to CSR files.

    Args:
        stored: entries that are not +0.0.
        entries: all entries of the feature matrix.

    Returns:
        Whether fewer than :data:`SPARSE_FEATURE_DENSITY` of them are stored.
    """
    return entries > 0 and stored < SPARSE_FEATURE_DENSITY * entries


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
    folder: str | os.PathLike[str],
    graph: Graph,
    parts: Any | None = None,
    info: dict | None = None,
    sparse_features: bool | None = None,
) -> Path:
    """Write ``graph`` (undirected, unweighted) to ``folder`` with its rows ordered by ``parts``.

    Args:
        folder: the disk graph folder (an existing one is replaced only once the new one is complete).
        graph: the graph.
        parts: ``[N]`` part of every node (None: one part).
        info: goes into ``meta.json``.
        sparse_features: features as CSR files (True), dense ``x.npy`` (False), or CSR when fewer than
            ``SPARSE_FEATURE_DENSITY`` of the entries are non-zero (None).

    Returns:
        The folder.
    """
    _check_source(graph)
    n = graph.num_nodes
    indptr, indices, edge_ids = _graph_csr(graph)
    perm, part_ptr = _parts_order(np.zeros(n, dtype=np.int64) if parts is None else np.asarray(parts), n)
    source = _ArraySource(indptr, indices, graph, edge_ids=edge_ids)
    if source.x is not None:
        row_nnz = _row_nonzeros(source.x, n)
        if sparse_features is None:
            sparse_features = csr_worth_it(int(row_nnz.sum()), source.x.size)
        source.x_row_nnz = row_nnz if sparse_features else None
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
    edge_ids: np.ndarray | None = None
    x_csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (x_indptr, x_indices, x_values)
    x_row_nnz: np.ndarray | None = None  # dense x written as CSR: stored entries per source row
    num_features: int = 0  # of CSR features (x_csr)
    # a disk graph folder's rows are checked as they are read (an in-memory Graph's are valid): neighbour rows in
    # range, labels below the classes its meta.json declares
    folder: Path | None = None
    num_classes: int | None = None

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
    """Write ``source`` in the row order ``perm`` under a temporary name, then move it to ``folder``.

    A failure on the way (a damaged source row, a full disk) removes the temporary folder.
    """
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        meta = _write_reordered_files(tmp, source, perm, part_ptr, name, info)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return finish_disk_graph(tmp, folder, meta)


def _write_reordered_files(
    tmp: Path, source: _ArraySource, perm: np.ndarray, part_ptr: np.ndarray, name: str, info: dict
) -> dict:
    """The files of :func:`_write_reordered` written into ``tmp``; returns the ``meta.json`` to finish them with."""
    n = perm.size
    nnz = int(source.indptr[-1])
    num_edges = nnz // 2
    if source.edge_ids is None:
        raise GraphError(f"disk graph {name!r}: the source has no edge ids to write")
    inverse = np.empty(n, dtype=index_dtype(n))
    inverse[perm] = np.arange(n, dtype=inverse.dtype)
    degree = np.diff(np.asarray(source.indptr, dtype=np.int64))
    files: dict[str, list] = {}

    def writer(key: str, dtype: Any, shape: tuple[int, ...]) -> NpyWriter:
        files[key] = [np.dtype(dtype).str, list(shape)]
        return NpyWriter(tmp / f"{key}.npy", dtype, shape)

    def write(key: str, array: np.ndarray, dtype: Any) -> None:
        w = writer(key, dtype, array.shape)
        w.write(array)
        w.close()

    write("part_ptr", part_ptr, np.int64)
    write("perm", perm, index_dtype(n))
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(degree[perm], out=new_indptr[1:])
    write("indptr", new_indptr, index_dtype(nnz))
    del new_indptr
    features = None
    num_features = 0
    x_degree = None  # stored feature entries per source row (CSR features)
    if source.x_csr is not None:
        features, num_features = "csr", source.num_features
        x_degree = np.diff(np.asarray(source.x_csr[0], dtype=np.int64))
    elif source.x is not None:
        num_features = int(source.x.shape[1])
        features = "dense" if source.x_row_nnz is None else "csr"
        x_degree = source.x_row_nnz
    outputs = {
        "indices": writer("indices", index_dtype(n), (nnz,)),
        "edge_ids": writer("edge_ids", index_dtype(num_edges), (nnz,)),
    }
    if features == "dense":
        outputs["x"] = writer("x", np.float32, (n, num_features))
    elif features == "csr":
        x_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(x_degree[perm], out=x_indptr[1:])
        write("x_indptr", x_indptr, np.int64)
        nnz_x = int(x_indptr[-1])
        del x_indptr
        outputs["x_indices"] = writer("x_indices", np.int32, (nnz_x,))
        outputs["x_values"] = writer("x_values", np.float32, (nnz_x,))
    if source.y is not None:
        outputs["y"] = writer("y", np.int64, (n,))
    for split_name in source.codes:
        outputs[f"split-{split_name}"] = writer(f"split-{split_name}", np.uint8, (n,))
    edge_id_counts = np.zeros(num_edges, dtype=np.uint8) if source.folder is not None else None
    for start in range(0, n, _ROW_CHUNK):
        src = source.fresh()
        rows = perm[start : start + _ROW_CHUNK]
        take = _entries_of_rows(np.asarray(src.indptr[rows], dtype=np.int64), degree[rows])
        cols, ids = np.asarray(src.indices[take]), np.asarray(src.edge_ids[take])
        x_rows = None if src.x is None else np.ascontiguousarray(src.x[rows], dtype=np.float32)
        y_rows = None if src.y is None else np.asarray(src.y[rows])
        code_rows = {split_name: np.asarray(codes[rows]) for split_name, codes in src.codes.items()}
        if src.folder is not None:  # a user's folder: named here, not in the cache copy's files later
            _check_folder_rows(src.folder, n, rows, degree[rows], cols, ids, edge_id_counts, x_rows, y_rows, code_rows)
        cols = inverse[cols].astype(np.int64)
        # neighbours ascending inside each row: sort by (row in chunk, new column); edge ids follow their entries
        cols += np.repeat(np.arange(rows.size, dtype=np.int64) * n, degree[rows])
        order = np.argsort(cols)
        outputs["indices"].write(cols[order] % n)
        outputs["edge_ids"].write(ids[order])
        del cols, ids, order, take
        if features == "dense":
            outputs["x"].write(x_rows)
        elif src.x_csr is not None:
            x_take = _entries_of_rows(np.asarray(src.x_csr[0][rows], dtype=np.int64), x_degree[rows])
            outputs["x_indices"].write(np.asarray(src.x_csr[1][x_take]))
            outputs["x_values"].write(np.asarray(src.x_csr[2][x_take]))
        elif features == "csr":
            at_row, at_col = np.nonzero(_nonzero_bits(x_rows))
            outputs["x_indices"].write(at_col)
            outputs["x_values"].write(x_rows[at_row, at_col])
        if y_rows is not None:
            outputs["y"].write(y_rows)
        for split_name, code in code_rows.items():
            outputs[f"split-{split_name}"].write(code)
    for w in outputs.values():
        w.close()
    if edge_id_counts is not None and bool((edge_id_counts != 2).any()):
        bad = int(np.flatnonzero(edge_id_counts != 2)[0])
        raise GraphError(
            f"{source.folder / 'edge_ids.npy'}: edge id {bad} appears {int(edge_id_counts[bad])} times; each "
            "undirected edge's id appears twice (one CSR entry per direction)"
        )
    num_classes = 0
    if source.y is not None:
        for start in range(0, n, 1 << 22):
            num_classes = max(num_classes, int(np.asarray(source.y[start : start + (1 << 22)]).max()) + 1)
    if source.folder is not None and source.num_classes is not None:
        if num_classes > source.num_classes:
            raise GraphError(
                f"{source.folder / 'y.npy'} holds label {num_classes - 1}, but its meta.json says "
                f"num_classes={source.num_classes} (labels 0..{source.num_classes - 1}, or -1 for unlabelled)"
            )
        num_classes = max(num_classes, source.num_classes)  # a class no node carries still counts
    meta = {
        "format": FORMAT,
        "name": name,
        "num_nodes": n,
        "num_edges": num_edges,
        "nnz": nnz,
        "num_parts": int(part_ptr.size - 1),
        "num_features": num_features,
        "features": features,
        "num_classes": num_classes,
        "splits": sorted(source.codes),
        "files": files,
        "info": info,
    }
    return meta


def _check_folder_rows(
    folder: Path,
    num_nodes: int,
    rows: np.ndarray,
    degree: np.ndarray,
    cols: np.ndarray,
    edge_ids: np.ndarray,
    edge_id_counts: np.ndarray,
    x: np.ndarray | None,
    y: np.ndarray | None,
    codes: dict[str, np.ndarray],
) -> None:
    """Check a chunk of a folder source's rows (the arrays about to be written), naming the source's file.

    Neighbour rows in range and no self-loop, edge ids in range (counted into ``edge_id_counts``), features
    finite, labels >= -1 and split codes within the three bits. ``rows`` are original node ids (the source is in
    original order).
    """
    check_neighbour_rows(cols, num_nodes, folder / "indices.npy")
    owner = np.repeat(rows, degree)
    loops = np.flatnonzero(cols == owner)
    if loops.size:
        raise GraphError(
            f"{folder / 'indices.npy'}: row {int(owner[loops[0]])} lists itself (a disk graph has no self-loops)"
        )
    num_edges = edge_id_counts.size
    if edge_ids.size and (int(edge_ids.min()) < 0 or int(edge_ids.max()) >= num_edges):
        bad = int(edge_ids.min()) if int(edge_ids.min()) < 0 else int(edge_ids.max())
        raise GraphError(f"{folder / 'edge_ids.npy'} holds an edge id {bad} outside [0, {num_edges})")
    np.add.at(edge_id_counts, edge_ids, 1)
    if x is not None:
        finite = np.isfinite(x).all(axis=1)
        if not bool(finite.all()):
            raise GraphError(f"{folder / 'x.npy'}: row {int(rows[np.argmin(finite)])} holds NaN or inf")
    if y is not None and y.size and int(y.min()) < -1:
        raise GraphError(f"{folder / 'y.npy'} holds label {int(y.min())}; labels are >= 0, or -1 for unlabelled")
    for name, code in codes.items():
        if code.size and int(code.max()) > 7:
            raise GraphError(
                f"{folder / f'split-{name}.npy'} holds code {int(code.max())}; codes combine the bits 1 train, "
                "2 val and 4 test (0-7)"
            )


def _entries_of_rows(begins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions of the CSR entries of rows starting at ``begins`` with ``counts`` entries, row after row."""
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return np.repeat(begins - offsets[:-1], counts) + np.arange(int(offsets[-1]), dtype=np.int64)


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

    Args:
        source_folder: a disk graph in original order (identity ``perm.npy``), format 1 or 2 (a format-1 source's
            edge ids are computed on the way, out of core).
        parts: ``[N]`` part of every *row* of the source.
        folder: the folder to write (an existing one is replaced once the new one is complete).
        info: merged into the source's ``info`` in ``meta.json``.

    Returns:
        The folder. The source is read through memory maps, re-mapped every chunk of rows; its features are carried
        as they are stored (dense or CSR).

    Raises:
        GraphError: the source is not in original order.
    """
    source = DiskGraph.open(source_folder)
    if not np.array_equal(source.perm, np.arange(source.num_nodes)):
        raise GraphError(f"{source_folder}: perm.npy is not the identity; reordering needs a source in original order")
    perm, part_ptr = _parts_order(np.asarray(parts), source.num_nodes)
    folder = Path(folder)
    side = None  # edge ids of a format-1 source, in its (original) row order
    if not source.has_edge_ids:
        side = folder.parent / f".{folder.name}.edge-ids-{os.getpid()}.npy"
        folder.parent.mkdir(parents=True, exist_ok=True)
        _write_original_edge_ids(Path(source_folder), side)

    def reopen() -> _ArraySource:
        view = DiskGraph.open(source_folder)
        edge_ids = view.edge_ids if side is None else np.load(side, mmap_mode="r")
        x_csr = None if view.x_indptr is None else (view.x_indptr, view.x_indices, view.x_values)
        return _ArraySource(
            view.indptr,
            view.indices,
            None,
            view.x,
            view.y,
            view.codes,
            reopen,
            edge_ids=edge_ids,
            x_csr=x_csr,
            num_features=view.num_features,
            folder=Path(source_folder),
            num_classes=view.num_classes if view.y is not None else None,
        )

    merged = {**source.meta.get("info", {}), **(info or {})}
    name, first = source.name, reopen()
    del source
    try:
        return _write_reordered(folder, first, perm, part_ptr, name, merged)
    finally:
        del first
        if side is not None:
            side.unlink(missing_ok=True)


def _write_original_edge_ids(source_folder: Path, out: Path) -> None:
    """``edge_ids`` (one per CSR entry) of a disk graph whose rows are its original nodes, written to ``out``.

    Out of core: a row's entries above the diagonal (``v > u``, after those below it) take the next ids in CSR
    order; each such entry also fills the next free entry below the diagonal in row ``v`` (whose entries below the
    diagonal ascend in ``u``, the order the rows ``u`` are visited in). Only N-sized counters are held.
    """
    disk = DiskGraph.open(source_folder)
    n, nnz = disk.num_nodes, int(disk.meta["nnz"])
    indptr = np.asarray(disk.indptr, dtype=np.int64)
    below = np.zeros(n, dtype=np.int64)  # entries v < u of row u
    for start in range(0, n, _ROW_CHUNK):
        stop = min(start + _ROW_CHUNK, n)
        cols = np.asarray(DiskGraph.open(source_folder).indices[indptr[start] : indptr[stop]], dtype=np.int64)
        rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(indptr[start : stop + 1]))
        below[start:stop] = np.bincount(rows[cols < rows] - start, minlength=stop - start)
    above = np.diff(indptr) - below
    first_id = np.zeros(n, dtype=np.int64)
    np.cumsum(above[:-1], out=first_id[1:])
    del above
    out_ids = np.lib.format.open_memmap(out, mode="w+", dtype=index_dtype(nnz // 2), shape=(nnz,))
    cursor = indptr[:-1].copy()  # the next free entry below the diagonal of every row
    for start in range(0, n, _ROW_CHUNK):
        stop = min(start + _ROW_CHUNK, n)
        a = int(indptr[start])
        cols = np.asarray(DiskGraph.open(source_folder).indices[a : indptr[stop]], dtype=np.int64)
        rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(indptr[start : stop + 1]))
        upper = np.flatnonzero(cols > rows)
        u, v = rows[upper], cols[upper]
        # position among the row's entries above the diagonal
        ids = first_id[u] + (upper + a - indptr[u] - below[u])
        out_ids[upper + a] = ids
        order = np.argsort(v, kind="stable")  # keeps u ascending inside each v
        v_sorted = v[order]
        run_start = np.flatnonzero(np.r_[True, v_sorted[1:] != v_sorted[:-1]]) if v.size else np.empty(0, np.int64)
        rank = np.arange(v_sorted.size) - np.repeat(run_start, np.diff(np.r_[run_start, v_sorted.size]))
        out_ids[cursor[v_sorted] + rank] = ids[order]
        cursor += np.bincount(v, minlength=n)
    out_ids.flush()
    del out_ids
