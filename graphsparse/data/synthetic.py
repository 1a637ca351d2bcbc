"""Synthetic graphs: a degree-corrected stochastic block model (DC-SBM) with class-correlated features.

Model (Karrer & Newman, "Stochastic blockmodels and community structure in networks", Phys. Rev. E 2011): every
node ``i`` has a class ``c_i`` (balanced) and a degree propensity ``theta_i`` drawn from a power law
``P(theta) ~ theta^(-degree_exponent)`` (capped at ``sqrt(N)``). Each candidate edge picks its first endpoint ``u``
with probability proportional to ``theta``; with probability ``homophily`` the second endpoint comes from ``u``'s
class, otherwise from a uniformly chosen other class, again proportional to ``theta`` inside that class. Candidates
are drawn in chunks until exactly ``num_edges`` distinct undirected edges (no self-loops) exist, so the expected
edge homophily is about ``homophily`` and degrees follow ``theta``.

Features are ``x_i = mu_{c_i} + feature_noise * eps_i`` with class means ``mu_c ~ N(0, class_separation^2 I)`` and
``eps_i ~ N(0, I)``. Everything is vectorised (numpy, chunked so that 30M-edge graphs stay within a few GB) and
determined by ``seed``.

:func:`synthetic_dcsbm_to_disk` writes the same graph (same seed, same numbers) as a disk graph folder
(:mod:`graphsparse.data.diskgraph`: int32 CSR, features, labels, split) without building it in memory: beside
the sorted int64 edge keys (8 bytes per undirected edge, needed to make them distinct) it holds only per-node
counters and one chunk at a time; 2M nodes / 30M edges / 100 features peak at about 1 GB.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..graph import Graph, GraphError, Split
from .diskgraph import FORMAT, index_dtype
from .diskwrite import NpyWriter, finish_disk_graph
from .splits import fraction_split, stratified_split

__all__ = ["synthetic_dcsbm", "synthetic_dcsbm_to_disk"]

_CHUNK = 1 << 22  # candidate edges drawn per vectorised step (bounds temporary memory)
_FEATURE_ROWS = 1 << 18  # feature rows drawn per step


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` via an in-place sort (numpy's own ``unique`` is many times slower on large int64 arrays)."""
    keys.sort()
    if keys.size < 2:
        return keys
    keep = np.empty(keys.size, dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _sample_in_classes(
    classes: np.ndarray,
    cum: np.ndarray,
    class_lo: np.ndarray,
    class_mass: np.ndarray,
    class_end: np.ndarray,
    order: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One node per entry of ``classes``, drawn proportionally to theta inside that class."""
    r = class_lo[classes] + rng.random(classes.size) * class_mass[classes]
    pos = np.searchsorted(cum, r, side="right")
    pos = np.minimum(pos, class_end[classes] - 1)  # guard against r hitting the class's upper float edge
    return order[pos]


def _check_args(n: int, m: int, c: int, f: int, homophily: float, degree_exponent: float, split: str) -> None:
    if n < 2 or c < 1 or m < 0 or f < 0:
        raise GraphError(
            f"synthetic_dcsbm needs num_nodes >= 2, num_classes >= 1, num_edges/num_features >= 0 "
            f"(got {n}, {c}, {m}, {f})"
        )
    if c > n:
        raise GraphError(f"num_classes={c} exceeds num_nodes={n}")
    if m > n * (n - 1) // 2:
        raise GraphError(f"num_edges={m} exceeds the {n * (n - 1) // 2} possible edges on {n} nodes")
    if not 0.0 <= homophily <= 1.0:
        raise GraphError(f"homophily must be in [0, 1], got {homophily}")
    if degree_exponent <= 1.0:
        raise GraphError(f"degree_exponent must be > 1, got {degree_exponent}")
    if split not in ("random", "per-class", "none"):
        raise GraphError(f"split must be 'random', 'per-class' or 'none', got {split!r}")


def _labels_and_edge_keys(
    n: int, m: int, c: int, homophily: float, degree_exponent: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Labels ``[n]`` and the sorted keys ``u * n + v`` (u < v) of exactly ``m`` distinct edges."""
    y = rng.permutation(np.arange(n, dtype=np.int64) % c)
    theta = (1.0 - rng.random(n)) ** (-1.0 / (degree_exponent - 1.0))
    np.minimum(theta, max(np.sqrt(n), 1.0), out=theta)

    order = np.argsort(y, kind="stable")  # nodes grouped by class
    cum = np.cumsum(theta[order])
    del theta
    counts = np.bincount(y, minlength=c)
    class_end = np.cumsum(counts)
    class_start = class_end - counts
    class_lo = np.where(class_start > 0, cum[np.maximum(class_start - 1, 0)], 0.0)
    class_mass = cum[class_end - 1] - class_lo
    total = cum[-1]

    def draw(k: int) -> np.ndarray:
        """Keys ``u * n + v`` (u < v) of ``k`` candidate edges, self-loops dropped."""
        keys = np.empty(k, dtype=np.int64)  # filled chunk by chunk: no list of chunks beside the result
        filled = 0
        for start in range(0, k, _CHUNK):
            size = min(_CHUNK, k - start)
            r = rng.random(size) * total
            r.sort()  # sorted queries make searchsorted cache-friendly; the order of candidates does not matter
            u = order[np.minimum(np.searchsorted(cum, r, side="right"), n - 1)]
            cu = y[u]
            if c > 1:
                other = (cu + rng.integers(1, c, size=size)) % c
                cv = np.where(rng.random(size) < homophily, cu, other)
            else:
                cv = cu
            v = _sample_in_classes(cv, cum, class_lo, class_mass, class_end, order, rng)
            lo, hi = np.minimum(u, v), np.maximum(u, v)
            keep = lo != hi
            got = int(keep.sum())
            keys[filled : filled + got] = lo[keep] * n + hi[keep]
            filled += got
        return keys[:filled]

    keys = _sorted_unique(draw(int(m * 1.05) + 16)) if m else np.empty(0, dtype=np.int64)
    for _ in range(50):
        if keys.size >= m:
            break
        deficit = m - keys.size
        keys = _sorted_unique(np.concatenate([keys, draw(2 * deficit + 16)]))
    else:
        raise GraphError(f"could not draw {m} distinct edges (got {keys.size}); the graph is too dense for the model")
    if keys.size > m:  # drop a uniformly random surplus
        drop = rng.choice(keys.size, size=keys.size - m, replace=False)
        keep = np.ones(keys.size, dtype=bool)
        keep[drop] = False
        keys = keys[keep]
    return y, keys


def _feature_rows(
    rng: np.random.Generator, y: np.ndarray, f: int, c: int, feature_noise: float, class_separation: float
) -> Iterator[np.ndarray]:
    """Feature rows in chunks, in node order (the same numbers as one ``standard_normal((n, f))`` draw)."""
    means = (rng.standard_normal((c, f), dtype=np.float32) * np.float32(class_separation)).astype(np.float32)
    for start in range(0, y.size, _FEATURE_ROWS):
        rows = rng.standard_normal((min(_FEATURE_ROWS, y.size - start), f), dtype=np.float32)
        rows *= np.float32(feature_noise)
        rows += means[y[start : start + rows.shape[0]]]
        yield rows


def _splits(split: str, n: int, y: torch.Tensor, seed: int, **options: Any) -> dict[str, Split]:
    if split == "random":
        return {"random": fraction_split(n, options["train_fraction"], options["val_fraction"], seed)}
    if split == "per-class":
        return {
            "per-class": stratified_split(
                y, seed, train_per_class=options["train_per_class"], val_per_class=options["val_per_class"]
            )
        }
    return {}


def synthetic_dcsbm(
    num_nodes: int = 1000,
    num_edges: int = 5000,
    num_features: int = 32,
    num_classes: int = 4,
    homophily: float = 0.8,
    degree_exponent: float = 2.5,
    feature_noise: float = 1.0,
    class_separation: float = 1.0,
    split: str = "random",
    train_fraction: float = 0.6,
    val_fraction: float = 0.2,
    train_per_class: int = 20,
    val_per_class: int = 30,
    seed: int = 0,
) -> Graph:
    """A degree-corrected SBM graph with ``num_edges`` distinct undirected edges, features, labels and one split.

    Args:
        num_nodes: number of nodes.
        num_edges: number of distinct undirected edges.
        num_features: feature columns (``0`` gives ``x = None``).
        num_classes: number of classes.
        homophily: probability that a candidate edge stays inside its first endpoint's class.
        degree_exponent: power-law exponent (> 1) of the degree propensities; larger is more uniform.
        feature_noise: noise scale of the Gaussian features.
        class_separation: class-mean scale of the Gaussian features.
        split: ``"random"`` (``train_fraction``/``val_fraction`` of all nodes, rest test, split name ``"random"``),
            ``"per-class"`` (``train_per_class``/``val_per_class`` per class, rest test, name ``"per-class"``)
            or ``"none"``.
        train_fraction: the training fraction of all nodes (``split="random"``).
        val_fraction: the validation fraction of all nodes (``split="random"``).
        train_per_class: training nodes per class (``split="per-class"``).
        val_per_class: validation nodes per class (``split="per-class"``).
        seed: everything (classes, degrees, edges, features, split) is a function of it.

    :func:`synthetic_dcsbm_to_disk` writes the same graph to a disk graph folder without holding it in memory.
    """
    n, m, c, f = int(num_nodes), int(num_edges), int(num_classes), int(num_features)
    _check_args(n, m, c, f, homophily, degree_exponent, split)
    rng = np.random.default_rng(seed)
    y, keys = _labels_and_edge_keys(n, m, c, homophily, degree_exponent, rng)
    edges = torch.from_numpy(np.stack([keys // n, keys % n]))
    del keys

    x = None
    if f > 0:
        x_np = np.empty((n, f), dtype=np.float32)
        start = 0
        for rows in _feature_rows(rng, y, f, c, feature_noise, class_separation):
            x_np[start : start + rows.shape[0]] = rows
            start += rows.shape[0]
        x = torch.from_numpy(x_np)

    y_t = torch.from_numpy(y)
    options = dict(
        train_fraction=train_fraction,
        val_fraction=val_fraction,
        train_per_class=train_per_class,
        val_per_class=val_per_class,
    )
    return Graph(edges, num_nodes=n, x=x, y=y_t, splits=_splits(split, n, y_t, seed, **options), name="synthetic")


def _write_csr_from_keys(folder: Path, keys: np.ndarray, n: int) -> tuple[dict[str, list], int]:
    """``indptr.npy``/``indices.npy``/``edge_ids.npy`` of the directed view of the undirected edges ``keys``.

    Built out of core. ``keys`` are sorted ``u * n + v``, u < v, so a key's position is its edge's id. Counts come
    first, then each chunk of keys is scattered into memory-mapped ``indices.npy`` and ``edge_ids.npy`` (row ``v``
    receives ``u`` in key order, i.e. ascending; row ``u`` then receives ``v``).
    """
    backward = np.zeros(n, dtype=np.int64)  # entries v -> u (u < v): the neighbours of v below it
    forward = np.zeros(n, dtype=np.int64)
    for start in range(0, keys.size, _CHUNK):
        chunk = keys[start : start + _CHUNK]
        forward += np.bincount(chunk // n, minlength=n)
        backward += np.bincount(chunk % n, minlength=n)
    nnz = 2 * int(keys.size)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(forward + backward, out=indptr[1:])
    first_key = np.zeros(n, dtype=np.int64)  # index in keys of node u's first key (keys are sorted by u)
    np.cumsum(forward[:-1], out=first_key[1:])
    forward_at = indptr[:-1] + backward  # a row's larger neighbours follow its smaller ones
    del forward
    cursor = indptr[:-1].copy()
    index_type = index_dtype(n)
    writer = NpyWriter(folder / "indptr.npy", index_dtype(nnz), (n + 1,))
    writer.write(indptr)
    writer.close()
    del indptr
    id_type = index_dtype(int(keys.size))
    indices = np.lib.format.open_memmap(folder / "indices.npy", mode="w+", dtype=index_type, shape=(nnz,))
    edge_ids = np.lib.format.open_memmap(folder / "edge_ids.npy", mode="w+", dtype=id_type, shape=(nnz,))
    for start in range(0, keys.size, _CHUNK):
        chunk = keys[start : start + _CHUNK]
        u, v = chunk // n, chunk % n
        at = np.arange(start, start + chunk.size, dtype=np.int64)
        forward_pos = forward_at[u] + at - first_key[u]
        indices[forward_pos] = v
        edge_ids[forward_pos] = at
        del forward_pos
        order = np.argsort(v, kind="stable")  # keeps u ascending inside each v
        v_sorted = v[order]
        run_start = np.flatnonzero(np.r_[True, v_sorted[1:] != v_sorted[:-1]])
        rank = np.arange(v_sorted.size) - np.repeat(run_start, np.diff(np.r_[run_start, v_sorted.size]))
        backward_pos = cursor[v_sorted] + rank
        indices[backward_pos] = u[order]
        edge_ids[backward_pos] = at[order]
        cursor += np.bincount(v, minlength=n)
    indices.flush()
    edge_ids.flush()
    del indices, edge_ids
    files = {
        "indptr": [index_dtype(nnz).str, [n + 1]],
        "indices": [np.dtype(index_type).str, [nnz]],
        "edge_ids": [np.dtype(id_type).str, [nnz]],
    }
    return files, nnz


def synthetic_dcsbm_to_disk(folder: str | os.PathLike[str], **options: Any) -> Path:
    """:func:`synthetic_dcsbm` written to a one-part disk graph folder (:mod:`graphsparse.data.diskgraph`).

    Same options and the same graph as :func:`synthetic_dcsbm` (node ``i`` is row ``i``), but nothing N x F or
    E-sized beside the ``num_edges`` int64 edge keys is held in memory: the CSR is filled through a memory map and
    the features are drawn and written a chunk of rows at a time. Returns the folder.
    """
    defaults = dict(inspect.signature(synthetic_dcsbm).parameters)
    unknown = set(options) - set(defaults)
    if unknown:
        raise TypeError(f"synthetic_dcsbm_to_disk got unknown options: {', '.join(sorted(unknown))}")
    a = {k: options.get(k, p.default) for k, p in defaults.items()}
    n, m, c, f = int(a["num_nodes"]), int(a["num_edges"]), int(a["num_classes"]), int(a["num_features"])
    _check_args(n, m, c, f, a["homophily"], a["degree_exponent"], a["split"])
    rng = np.random.default_rng(a["seed"])
    y, keys = _labels_and_edge_keys(n, m, c, a["homophily"], a["degree_exponent"], rng)
    folder = Path(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    files, nnz = _write_csr_from_keys(tmp, keys, n)
    del keys

    def write(key: str, array: np.ndarray) -> None:
        w = NpyWriter(tmp / f"{key}.npy", array.dtype, array.shape)
        w.write(array)
        w.close()
        files[key] = [array.dtype.str, list(array.shape)]

    write("part_ptr", np.array([0, n], dtype=np.int64))
    write("perm", np.arange(n, dtype=index_dtype(n)))
    if f > 0:
        w = NpyWriter(tmp / "x.npy", np.float32, (n, f))
        for rows in _feature_rows(rng, y, f, c, a["feature_noise"], a["class_separation"]):
            w.write(rows)
        w.close()
        files["x"] = [np.dtype(np.float32).str, [n, f]]
    write("y", y)
    y_t = torch.from_numpy(y)
    names = {k: a[k] for k in ("train_fraction", "val_fraction", "train_per_class", "val_per_class")}
    splits = _splits(a["split"], n, y_t, a["seed"], **names)
    for name, s in splits.items():
        codes = (s.train.numpy() * 1 + s.val.numpy() * 2 + s.test.numpy() * 4).astype(np.uint8)
        write(f"split-{name}", codes)
    meta = {
        "format": FORMAT,
        "name": "synthetic",
        "num_nodes": n,
        "num_edges": m,
        "nnz": nnz,
        "num_parts": 1,
        "num_features": f,
        "features": "dense" if f > 0 else None,
        "num_classes": int(y.max()) + 1,
        "splits": sorted(splits),
        "files": files,
        "info": {"generator": "synthetic_dcsbm", "options": a},
    }
    return finish_disk_graph(tmp, folder, meta)
