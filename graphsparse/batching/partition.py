"""Disk graphs ordered by their METIS parts, the layout Cluster-GCN reads its batches from.

:func:`partitioned_disk_graph` writes a graph (a :class:`~graphsparse.graph.Graph`, or a one-part disk graph folder
such as :func:`~graphsparse.data.synthetic.synthetic_dcsbm_to_disk` writes) as a disk graph ordered by its METIS
parts (:mod:`graphsparse.batching.metis`), cached as ``<cache_dir>/cluster-disk-<key>/``; from a folder, METIS
reads the folder's CSR and nothing else of the graph is loaded, optionally in a child process whose memory goes
back to the system when METIS ends. :func:`cluster_disk_graph` is what the trainers call: a folder that already
holds several parts is used as it is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from ..data.diskgraph import FORMAT as DISK_FORMAT
from ..data.diskgraph import DiskGraph, check_neighbour_rows, folder_fingerprint
from ..data.diskwrite import reorder_disk_graph, write_disk_graph
from ..graph import Graph, GraphError
from .metis import default_cache_dir, metis_partition, metis_partition_csr

__all__ = ["partitioned_disk_graph", "cluster_disk_graph"]


def _csr_for_metis(
    folder: Path, mask: np.ndarray | None = None, rows_per_step: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray]:
    """The folder's CSR in the index type METIS was built with (so pymetis takes it without another copy).

    With a boolean row ``mask``, the CSR of the subgraph it induces, relabelled in row order. Each row's neighbours
    come in the order :func:`graphsparse.batching.metis._csr` hands them over (larger ids first, then smaller, each
    ascending): METIS's result depends on that order, and so a folder gets the parts its in-memory Graph gets.
    Built a chunk of rows at a time.
    """
    import pymetis

    disk = DiskGraph.open(folder)
    dtype = pymetis.zero_copy_dtype()
    n = disk.num_nodes
    new_id = None
    if mask is not None:
        new_id = np.full(n, -1, dtype=np.int64)
        new_id[mask] = np.arange(int(mask.sum()))
    pieces, degrees = [], []
    for start in range(0, n, rows_per_step):
        stop = min(start + rows_per_step, n)
        a, b = int(disk.indptr[start]), int(disk.indptr[stop])
        col = np.asarray(disk.indices[a:b], dtype=np.int64)
        check_neighbour_rows(col, n, Path(folder) / "indices.npy")  # METIS would crash on them, or read past
        row = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(np.asarray(disk.indptr[start : stop + 1])))
        if new_id is not None:
            row, col = new_id[row], new_id[col]
            keep = (row >= 0) & (col >= 0)
            row, col = row[keep], col[keep]
        order = np.lexsort((col, col < row, row))  # per row: larger neighbours, then smaller, each ascending
        pieces.append(col[order].astype(dtype))
        first = int(new_id[start:stop].max(initial=-1)) if new_id is not None else stop - 1
        low = int(new_id[start:stop][new_id[start:stop] >= 0].min(initial=first + 1)) if new_id is not None else start
        degrees.append(np.bincount(row - low, minlength=first + 1 - low))
        del col, row, order
    indptr = np.zeros(sum(d.size for d in degrees) + 1, dtype=dtype)
    np.cumsum(np.concatenate(degrees), out=indptr[1:])
    return indptr, np.concatenate(pieces) if pieces else np.empty(0, dtype=dtype)


def _extend_parts(folder: Path, parts: np.ndarray, num_parts: int, rows_per_step: int = 1 << 18) -> np.ndarray:
    """Parts for the rows METIS did not see (``-1``).

    Each gets the part most of its partitioned neighbours are in (ties: the lowest part id); a row without one gets
    ``row % num_parts``.
    """
    disk = DiskGraph.open(folder)
    out = parts.copy()
    for start in range(0, disk.num_nodes, rows_per_step):
        stop = min(start + rows_per_step, disk.num_nodes)
        a, b = int(disk.indptr[start]), int(disk.indptr[stop])
        row = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(np.asarray(disk.indptr[start : stop + 1])))
        neighbour_part = parts[np.asarray(disk.indices[a:b])]
        keep = (parts[row] < 0) & (neighbour_part >= 0)
        keys, counts = np.unique(row[keep] * num_parts + neighbour_part[keep], return_counts=True)
        rows, part = keys // num_parts, keys % num_parts
        best = np.lexsort((part, -counts, rows))  # per row: most neighbours first, then the lowest part id
        rows, part = rows[best], part[best]
        first = np.r_[True, rows[1:] != rows[:-1]] if rows.size else np.zeros(0, dtype=bool)
        out[rows[first]] = part[first]
    lonely = np.flatnonzero(out < 0)
    out[lonely] = lonely % num_parts
    return out


def _metis_on_folder(
    folder: str, num_parts: int, recursive: bool, train_split: str | None = None
) -> tuple[np.ndarray, float]:
    """METIS parts of a disk graph folder's rows and this process's peak RSS in GB (also run in a child process).

    ``train_split``: METIS partitions the subgraph induced by that split's training rows, and every other row
    joins the part of most of its training neighbours (:func:`_extend_parts`).
    """
    import resource

    mask = None
    if train_split is not None:
        disk = DiskGraph.open(folder)
        if train_split not in disk.codes:
            raise GraphError(f"{folder}: no split {train_split!r} to partition the training graph of")
        mask = (np.asarray(disk.codes[train_split]) & 1) > 0
        del disk
        if int(mask.sum()) < num_parts:
            raise GraphError(f"cannot partition {int(mask.sum())} training nodes into {num_parts} parts")
    xadj, adjncy = _csr_for_metis(Path(folder), mask)
    sub = metis_partition_csr(xadj, adjncy, num_parts, recursive)
    del xadj, adjncy
    if mask is None:
        parts = sub
    else:
        parts = np.full(mask.size, -1, dtype=np.int64)
        parts[mask] = sub
        parts = _extend_parts(Path(folder), parts, num_parts)
    return parts, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def partitioned_disk_graph(
    source: Graph | str | os.PathLike[str],
    num_parts: int,
    *,
    recursive: bool = True,
    folder: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    metis_process: bool = False,
    train_split: str | None = None,
) -> Path:
    """A disk graph of ``source`` with its rows ordered by ``num_parts`` METIS parts (see the module docstring).

    It is reused when ``folder`` (default: in the cache folder, named by a key of the source and the options)
    already holds it. ``source`` is a Graph (undirected, unweighted) or a one-part disk graph folder in original order.

    ``metis_process=True`` (folder sources) runs METIS in a child process: METIS's working memory (several times
    the CSR: about 6 GB for 2M nodes and 60M adjacency entries with pymetis's 64-bit indices) is then returned to
    the system when it ends instead of staying in this process's heap; its peak RSS is recorded in
    ``meta.json`` (``info.metis_peak_rss_gb``). ``train_split`` (folder sources): METIS partitions only the
    subgraph of that split's training nodes, as the Cluster-GCN authors' code partitions the training graph, which
    shrinks METIS's memory with the training graph's edges; every other node joins the part most of its training
    neighbours are in, so evaluation batches still hold every node with its neighbours (a Graph source with
    ``train_split`` is first written as a one-part folder beside the target, removed once the target is written).
    """
    if int(num_parts) != num_parts or num_parts < 1:
        raise ValueError(f"number of parts must be an integer >= 1, got {num_parts}")
    options = f"parts={int(num_parts)};recursive={bool(recursive)};format={DISK_FORMAT}"
    h = hashlib.sha256((options + (f";train={train_split}" if train_split is not None else "")).encode())
    if isinstance(source, Graph):
        h.update(source.fingerprint().encode())
    else:
        h.update(folder_fingerprint(source).encode())  # the content, not only meta.json: edited copies differ
    key = h.hexdigest()[:24]
    target = Path(folder) if folder is not None else Path(cache_dir or default_cache_dir()) / f"cluster-disk-{key}"
    if (target / "meta.json").is_file():
        try:
            meta = DiskGraph.open(target).meta
            if meta.get("info", {}).get("key") == key:
                return target
            warnings.warn(f"disk graph {target} was written for other options; rewriting it", stacklevel=2)
        except GraphError as err:
            warnings.warn(f"disk graph {target} is unusable ({err}); rewriting it", stacklevel=2)
    info = {"key": key, "metis_parts": int(num_parts), "recursive": bool(recursive), "train_split": train_split}
    if isinstance(source, Graph) and train_split is not None:
        source.split(train_split)  # a missing split fails before anything is written
        # the training graph is partitioned from a folder (the others join their neighbours' parts there), so the
        # Graph goes to disk once in its own order first; only the part-ordered folder is kept
        staging = target.parent / f".{target.name}.source-{os.getpid()}"
        try:
            write_disk_graph(staging, source)
            return _partition_folder(staging, target, int(num_parts), recursive, train_split, metis_process, info)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if isinstance(source, Graph):
        parts = metis_partition(source, int(num_parts), recursive=recursive, cache_dir=cache_dir)
        return write_disk_graph(target, source, parts.numpy(), info)
    return _partition_folder(Path(source), target, int(num_parts), recursive, train_split, metis_process, info)


def _partition_folder(
    source: Path,
    target: Path,
    num_parts: int,
    recursive: bool,
    train_split: str | None,
    metis_process: bool,
    info: dict,
) -> Path:
    """METIS on the one-part folder ``source`` (in a child process if asked), then ``source`` reordered by the parts.

    The reordered disk graph is written to ``target``.
    """
    if metis_process:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            job = pool.submit(_metis_on_folder, str(source), num_parts, recursive, train_split)
            parts, peak = job.result()
        info["metis_peak_rss_gb"] = round(peak, 3)
    else:  # METIS is done with the CSR (freed inside) before the reordering reads the folder again
        parts, _ = _metis_on_folder(str(source), num_parts, recursive, train_split)
    return reorder_disk_graph(source, parts, target, info)


def cluster_disk_graph(
    source: Graph | str | os.PathLike[str],
    num_parts: int,
    *,
    train_split: str | None = None,
    metis_process: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The part-ordered disk graph Cluster-GCN trains from.

    It serves ``--on-disk`` / ``--disk`` of ``graphsparse train`` and of :mod:`graphsparse.distributed`: a Graph or
    a one-part folder is partitioned into ``num_parts`` (:func:`partitioned_disk_graph`, cached); a folder that
    already holds several parts is used as it is.
    """
    if not isinstance(source, Graph) and int(DiskGraph.read_meta(source)["num_parts"]) > 1:
        return Path(source)
    return partitioned_disk_graph(
        source, num_parts, train_split=train_split, metis_process=metis_process, cache_dir=cache_dir
    )
