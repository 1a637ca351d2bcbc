"""An OGB node dataset folder written straight into a one-part disk graph, never held as a :class:`Graph`.

:func:`ogb_to_disk_graph` reads ``raw/edge.csv.gz`` in chunks of rows, keeps only one int64 key per undirected edge
(``u * N + v``, u < v: the edges symmetrised, self-loops and duplicates dropped, as :func:`load_ogb_raw` does), sorts
them and hands them to the synthetic generator's out-of-core CSR writer (``_write_csr_from_keys``), then copies the
features a chunk of rows at a time into ``x.npy``. For ogbn-products (2,449,029 nodes, 61,859,140 edges, 100
features) the peak beside pandas' chunk is about two copies of the 62 M keys (1 GB), so a 4 GB process writes it;
``graphsparse train --batching cluster --disk FOLDER`` then partitions the folder with METIS (in a child process,
cached) and trains from memory maps.

The folder holds exactly the graph :func:`load_ogb_raw` loads (node ``i`` is row ``i``; the same CSR as
:func:`graphsparse.data.diskwrite.graph_csr` of the in-memory graph, the same features, labels and official split
``"ogb"``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import GraphError
from ._io import DatasetError, dataset_roots, parsing
from .diskgraph import FORMAT, index_dtype
from .diskwrite import NpyWriter, finish_disk_graph
from .ogb_raw import (
    _CSV_CHUNK_ROWS,
    OGB_INFO,
    _check_rows,
    _edge_pairs,
    _graph_counts,
    _iter_csv,
    _node_splits,
    _read_labels,
    check_required_files,
    find_ogb_folder,
    ogb_folder,
)
from .synthetic import _write_csr_from_keys

__all__ = ["ogb_to_disk_graph", "ogb_edge_keys"]

_FEATURE_VALUES = 1 << 23  # feature values parsed per chunk (pandas' temporaries: a few times 32 MB)


def _source_folder(name: str, root: str | os.PathLike[str] | None) -> Path:
    """The OGB folder of ``name``: ``root`` itself when it holds ``raw/``, else found under ``root`` (or the roots)."""
    if root is not None:
        root = Path(root).expanduser()
        if (root / "raw").is_dir():
            return root
        found = find_ogb_folder(name, root)
        if found is None:
            raise DatasetError(f"{name}: no OGB folder under {root} (looked for {ogb_folder(name, root)})")
        return found
    for candidate_root in dataset_roots():
        found = find_ogb_folder(name, candidate_root)
        if found is not None:
            return found
    looked = ", ".join(str(ogb_folder(name, r)) for r in dataset_roots())
    raise DatasetError(f"{name}: no OGB folder found (looked for {looked}); place ogb's folder there or pass root=")


def ogb_edge_keys(raw: Path, num_nodes: int, num_edges: int, chunk_rows: int = _CSV_CHUNK_ROWS) -> np.ndarray:
    """Sorted, distinct int64 keys ``u * N + v`` (u < v) of the undirected edges of ``raw/edge.csv.gz``.

    Args:
        raw: the dataset's ``raw/`` folder.
        num_nodes: N (from ``num-node-list.csv.gz``).
        num_edges: the rows ``edge.csv.gz`` must hold (from ``num-edge-list.csv.gz``).
        chunk_rows: rows read per step.

    Returns:
        The keys; self-loops and repeated (or reversed) pairs are dropped.

    Raises:
        DatasetError: the file has more or fewer rows than ``num_edges``, or a node id out of range; naming it.
    """
    path = raw / "edge.csv.gz"
    keys = np.empty(num_edges, dtype=np.int64)
    rows = kept = 0
    if num_edges:
        for chunk in _iter_csv(path, np.int64, chunk_rows):
            pairs = _edge_pairs(chunk, path, num_nodes)
            rows += pairs.shape[0]
            if rows > num_edges:
                _check_rows(path, rows, num_edges, "num-edge-list.csv.gz")
            u, v = pairs[:, 0], pairs[:, 1]
            low, high = np.minimum(u, v), np.maximum(u, v)
            loop = low == high
            chunk_keys = low[~loop] * num_nodes + high[~loop]
            keys[kept : kept + chunk_keys.size] = chunk_keys
            kept += chunk_keys.size
    _check_rows(path, rows, num_edges, "num-edge-list.csv.gz")
    keys = keys[:kept]
    keys.sort()
    if keys.size < 2:
        return keys
    distinct = np.empty(keys.size, dtype=bool)
    distinct[0] = True
    np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
    return keys[distinct]


def _feature_rows(path: Path, chunk_rows: int) -> int:
    """Rows per feature chunk: ``chunk_rows``, fewer for wide rows (about ``_FEATURE_VALUES`` values a chunk)."""
    with parsing(path, "OGB csv file"), gzip.open(path, "rt") as f:
        width = f.readline().count(",") + 1
    return max(1, min(chunk_rows, _FEATURE_VALUES // width))


def _write_features(path: Path, target: Path, num_nodes: int, chunk_rows: int) -> int:
    """Copy ``node-feat.csv.gz`` into ``target`` (float32 ``[N, F]``) chunk by chunk; returns F."""
    writer: NpyWriter | None = None
    rows = 0
    try:
        for chunk in _iter_csv(path, np.float32, _feature_rows(path, chunk_rows)):
            if writer is None:
                writer = NpyWriter(target, np.float32, (num_nodes, chunk.shape[1]))
            if chunk.shape[1] != writer.shape[1]:
                raise DatasetError(f"{path}: rows of {chunk.shape[1]} and {writer.shape[1]} columns")
            finite = np.isfinite(chunk).all(axis=1)
            if not finite.all():
                raise DatasetError(f"{path}: features must be finite (row {rows + int(np.argmin(finite))})")
            rows += chunk.shape[0]
            if rows > num_nodes:
                _check_rows(path, rows, num_nodes, "num-node-list.csv.gz")
            writer.write(chunk)
        _check_rows(path, rows, num_nodes, "num-node-list.csv.gz")
    except BaseException:
        if writer is not None:
            with contextlib.suppress(GraphError):  # closes the file; its row count no longer matters
                writer.close()
        raise
    if writer is None:
        return 0
    writer.close()
    return writer.shape[1]


def ogb_to_disk_graph(
    name: str,
    root: str | os.PathLike[str] | None,
    folder: str | os.PathLike[str],
    chunk_rows: int = _CSV_CHUNK_ROWS,
) -> Path:
    """Write OGB node dataset ``name`` from its raw folder into a one-part disk graph folder, out of core.

    Args:
        name: ``"ogbn-products"``, ``"ogbn-arxiv"`` (or another single-graph ``ogbn-*`` folder's name).
        root: the OGB folder itself (the one holding ``raw/``), or a dataset root holding it as ``ogb/ogbn_products``
            (or ``ogbn_products``, ``ogb/products``); None: the dataset search path (the data home first).
        folder: the disk graph folder to write (replaced if it exists; written under a temporary name first).
        chunk_rows: csv rows read per step (bounds pandas' temporaries; feature chunks hold at most about 8 M
            values whatever this says).

    Returns:
        ``folder``: ``meta.json`` plus ``indptr``/``indices`` (the symmetrised edges; ``edge_ids`` too, from the
            shared CSR writer, when the disk format has them), ``x``, ``y`` (int64), the
        official split as ``split-ogb.npy`` and the identity ``perm``/``part_ptr``; readable by
        :class:`~graphsparse.data.diskgraph.DiskGraph`.

    Raises:
        DatasetError: the OGB folder is not found, or one of its files is missing, unreadable or short; naming it.
    """
    source = _source_folder(name, root)
    check_required_files(name, source)
    raw = source / "raw"
    n, m = _graph_counts(raw)
    official = OGB_INFO.get(name, {}).get("split")
    splits = _node_splits(source, n, official)  # small (N bytes each), and checked before the long part
    labels = _read_labels(raw, n)
    keys = ogb_edge_keys(raw, n, m, chunk_rows)
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        num_edges = int(keys.size)
        files, nnz = _write_csr_from_keys(tmp, keys, n)
        del keys

        def write(key: str, array: np.ndarray) -> None:
            w = NpyWriter(tmp / f"{key}.npy", array.dtype, array.shape)
            w.write(array)
            w.close()
            files[key] = [array.dtype.str, list(array.shape)]

        write("part_ptr", np.array([0, n], dtype=np.int64))
        write("perm", np.arange(n, dtype=index_dtype(n)))
        num_features = 0
        if (raw / "node-feat.csv.gz").is_file():
            num_features = _write_features(raw / "node-feat.csv.gz", tmp / "x.npy", n, chunk_rows)
            files["x"] = [np.dtype(np.float32).str, [n, num_features]]
        if labels is not None:
            write("y", labels)
        for split_name, masks in splits.items():
            train, val, test = masks
            write(f"split-{split_name}", (train * 1 + val * 2 + test * 4).astype(np.uint8))
        meta: dict[str, Any] = {
            "format": FORMAT,
            "name": name,
            "num_nodes": n,
            "num_edges": num_edges,
            "nnz": nnz,
            "num_parts": 1,
            "num_features": num_features,
            "features": "dense" if num_features else None,
            "num_classes": int(labels.max()) + 1 if labels is not None and labels.size else 0,
            "splits": sorted(splits),
            "files": files,
            "info": {"source": "ogb", "folder": str(source), "edges": "symmetrised, self-loops and duplicates dropped"},
        }
        return finish_disk_graph(tmp, folder, meta)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
