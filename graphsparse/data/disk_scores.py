"""Edge scores and keep-masks of a graph on disk, streamed: nothing E-sized in memory but packed bits.

A GLT search on a graph larger than memory scores and prunes its edges here, over undirected edge ids (the ids of
:mod:`graphsparse.data.diskgraph`, the in-memory :class:`~graphsparse.graph.Graph`'s ids):

- :func:`disk_teddy_edge_scores` computes TEDDY's scores from the on-disk CSR a chunk of rows at a time, holding
  only N-sized vectors, into a float32 ``.npy`` memory map indexed by edge id. It repeats
  :func:`graphsparse.sparsify.edges.teddy_edge_scores`'s float64 arithmetic in the same order (each node's
  neighbour sum adds its larger neighbours, then its smaller ones, each ascending in original id, as
  ``index_add_`` over the in-memory directed view does), so the scores are bit-identical.
- :func:`disk_random_edge_scores` draws uniform ``[0, 1)`` float32 scores from numpy's PCG64, chunk by chunk (the
  bit generator buffers the unused half of a 64-bit draw, so the chunk size never changes the values).
- :func:`keep_mask_lowest_pruned` is :func:`graphsparse.sparsify.edges.edge_keep_mask` out of core, and
  :func:`keep_top_among` is :func:`graphsparse.sparsify.weights._keep_top` over ``|score|`` restricted to a
  current mask (UGS's binarisation). Both select the threshold with a radix select over order-preserving integer
  keys of the float bit patterns (16 bits per pass: 65,536-bin histograms counted a chunk at a time; two passes
  for float32, four for float64), then settle the ties in one pass in id order, writing packed keep-bits.
  Scores may be any 1-D array-like: a numpy array or memory map, or a CPU tensor.

At scale (a 2M-node / 30M-edge ``synthetic_dcsbm_to_disk`` graph reordered into 64 random parts, on the shared
2-core development machine, one thread, each step in its own process): TEDDY scores 29.7 s at 0.66 GB peak RSS,
random scores 2.5 s / 0.36 GB, ``keep_mask_lowest_pruned(teddy, 0.3)`` 2.4 s / 0.46 GB, ``keep_top_among`` of
half the kept edges 4.5 s / 0.47 GB (the generator itself peaks at 1.30 GB, the reordering at 0.82 GB).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .diskgraph import DiskGraph
from .edgemask import BIT_ORDER, PackedEdgeMask

__all__ = [
    "disk_teddy_edge_scores",
    "disk_random_edge_scores",
    "keep_mask_lowest_pruned",
    "keep_top_among",
]

_ROWS = 1 << 16  # rows per step of the TEDDY passes
_CHUNK = 1 << 22  # scores per step (a multiple of 8, so chunks pack into whole bytes)
_DIGIT = 16


def _open(disk: DiskGraph | str | os.PathLike[str]) -> Path:
    folder = disk.folder if isinstance(disk, DiskGraph) else Path(disk)
    opened = DiskGraph.open(folder)
    opened.require_edge_ids("streaming edge scores")
    return folder


def _replace_npy(out: Path, write: Callable[[np.memmap], None], dtype: Any, size: int) -> np.memmap:
    """Write a ``.npy`` of ``size`` values through ``write`` under a temporary name, rename it, map it read-only."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(size,))
    write(array)
    array.flush()
    del array
    os.replace(tmp, out)
    return np.load(out, mmap_mode="r")


def disk_teddy_edge_scores(disk: DiskGraph | str | os.PathLike[str], out: str | os.PathLike[str]) -> np.memmap:
    """TEDDY edge scores of a disk graph, by edge id, streamed into ``out`` (a float32 ``.npy``).

    Bit-identical to ``teddy_edge_scores(graph)`` of the same graph in memory (see the module docstring).

    Args:
        disk: an opened disk graph or its folder (with edge ids; any partition).
        out: the ``.npy`` file to write (replaced once complete).

    Returns:
        ``out`` mapped read-only: float32 ``[E]``.

    Raises:
        GraphError: the folder has no edge ids or is damaged.
    """
    folder = _open(disk)
    whole = DiskGraph.open(folder)
    n, num_edges = whole.num_nodes, whole.num_edges
    indptr = np.asarray(whole.indptr, dtype=np.int64)
    perm = np.asarray(whole.perm, dtype=np.int64)  # original id of every row
    del whole
    deg = torch.from_numpy(np.diff(indptr).astype(np.float64))  # by row; integers, exact
    inv_sqrt = deg.clamp(min=1).pow(-0.5).numpy()

    def chunks() -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """(first row, rows, row of each entry, neighbour row, edge id) per chunk of rows, maps opened afresh."""
        for start in range(0, n, _ROWS):
            stop = min(start + _ROWS, n)
            view = DiskGraph.open(folder)
            a, b = int(indptr[start]), int(indptr[stop])
            cols = np.asarray(view.indices[a:b], dtype=np.int64)
            ids = np.asarray(view.edge_ids[a:b], dtype=np.int64)
            rows = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(indptr[start : stop + 1]))
            del view
            yield start, stop - start, rows, cols, ids

    neighbour_sum = np.zeros(n, dtype=np.float64)
    for start, count, rows, cols, _ in chunks():
        orig_row, orig_col = perm[rows], perm[cols]
        # per row: larger neighbours first, then smaller ones, each ascending in original id (the reference's order)
        order = np.lexsort((orig_col, orig_col < orig_row, rows))
        part = torch.zeros(count, dtype=torch.float64)
        part.index_add_(0, torch.from_numpy(rows[order] - start), torch.from_numpy(inv_sqrt[cols[order]]))
        neighbour_sum[start : start + count] = part.numpy()
    g_hat = (torch.from_numpy(neighbour_sum) / deg.clamp(min=1).pow(2)).numpy()
    del neighbour_sum

    def write(scores: np.memmap) -> None:
        for _, _, rows, cols, ids in chunks():
            once = perm[rows] < perm[cols]  # each undirected edge from its lower original endpoint
            product = torch.from_numpy(g_hat[rows[once]] * g_hat[cols[once]])
            scores[ids[once]] = product.float().numpy()

    return _replace_npy(Path(out), write, np.float32, num_edges)


def disk_random_edge_scores(
    num_edges: int, seed: int, out: str | os.PathLike[str], chunk_size: int = _CHUNK
) -> np.memmap:
    """Uniform ``[0, 1)`` float32 scores from numpy's PCG64 seeded with ``seed``, drawn chunk by chunk into ``out``.

    The values are those of ``np.random.Generator(np.random.PCG64(seed)).random(num_edges, dtype=np.float32)``,
    whatever ``chunk_size``.

    Args:
        num_edges: the number of scores.
        seed: the generator's seed.
        out: the ``.npy`` file to write (replaced once complete).
        chunk_size: scores drawn per step.

    Returns:
        ``out`` mapped read-only: float32 ``[num_edges]``.

    Raises:
        ValueError: a negative ``num_edges`` or a ``chunk_size`` below 1.
    """
    num_edges, chunk_size = int(num_edges), int(chunk_size)
    if num_edges < 0 or chunk_size < 1:
        raise ValueError(f"need num_edges >= 0 and chunk_size >= 1, got {num_edges} and {chunk_size}")
    rng = np.random.Generator(np.random.PCG64(int(seed)))

    def write(scores: np.memmap) -> None:
        for start in range(0, num_edges, chunk_size):
            stop = min(start + chunk_size, num_edges)
            scores[start:stop] = rng.random(stop - start, dtype=np.float32)

    return _replace_npy(Path(out), write, np.float32, num_edges)


# ------------------------------------------------------------------------------------------------ selection
def _as_vector(scores: Any) -> np.ndarray:
    """``scores`` as a 1-D real numpy array (memory maps and CPU tensors without a copy)."""
    if isinstance(scores, torch.Tensor):
        if scores.dtype.is_complex or scores.dtype == torch.bool:
            raise ValueError(f"edge scores must be real numbers, got dtype {scores.dtype}")
        scores = scores.detach().cpu().numpy()
    array = np.asarray(scores)
    if array.ndim != 1:
        raise ValueError(f"edge scores must be a vector [M] over edge ids, got shape {list(array.shape)}")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"edge scores must be real numbers, got dtype {array.dtype}")
    return array


def _keys(chunk: np.ndarray) -> np.ndarray:
    """Unsigned integer keys ordered as the values (float32 keys for float32, else those of the float64 values).

    ``-0.0`` gets the key of ``+0.0`` (they compare equal). NaN must be refused before.
    """
    if chunk.dtype == np.float32:
        value, unsigned, top = chunk + np.float32(0.0), np.uint32, np.uint32(1 << 31)
    else:
        value, unsigned, top = chunk.astype(np.float64) + 0.0, np.uint64, np.uint64(1 << 63)
    bits = value.view(unsigned)
    return np.where(bits >= top, ~bits, bits | top)


def _key_bits(array: np.ndarray) -> int:
    return 32 if array.dtype == np.float32 else 64


def _refuse_nan(chunk: np.ndarray, start: int) -> None:
    if chunk.dtype.kind == "f":
        nan = np.isnan(chunk)
        if nan.any():
            raise ValueError(f"edge scores hold NaN (first at edge id {start + int(np.flatnonzero(nan)[0])})")


def _chunks(size: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, chunk_size):
        yield start, min(start + chunk_size, size)


def _radix_select(keyed: Callable[[], Iterator[np.ndarray]], k: int, bits: int) -> tuple[int, int, int]:
    """``(t, r, ties)``: the ``k``-th smallest (1-based) ``t`` of the keys ``keyed()`` yields, and more.

    ``r`` is its rank among the keys equal to it (``k - r`` keys are smaller) and ``ties`` how many keys equal it.
    One pass over the keys per 16 bits.
    """
    prefix, remaining, ties = 0, k, 0
    for shift in range(bits - _DIGIT, -1, -_DIGIT):
        hist = np.zeros(1 << _DIGIT, dtype=np.int64)
        for keys in keyed():
            if shift + _DIGIT < bits:
                keys = keys[(keys >> (shift + _DIGIT)) == prefix]
            hist += np.bincount(((keys >> shift) & ((1 << _DIGIT) - 1)).astype(np.int64), minlength=1 << _DIGIT)
        cumulative = np.cumsum(hist)
        digit = int(np.searchsorted(cumulative, remaining))  # first bin whose cumulative count reaches the rank
        remaining -= int(cumulative[digit - 1]) if digit else 0
        ties = int(hist[digit])
        prefix = (prefix << _DIGIT) | digit
    return prefix, remaining, ties


def _check_sparsity(sparsity: float) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float | np.floating | np.integer):
        raise ValueError(f"sparsity must be a number in [0, 1), got {type(sparsity).__name__} {sparsity!r}")
    value = float(sparsity)
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"sparsity must lie in [0, 1) (the fraction removed), got {sparsity!r}")
    return value


def keep_mask_lowest_pruned(scores: Any, sparsity: float, chunk_size: int = _CHUNK) -> PackedEdgeMask:
    """Keep-bits removing the ``round(sparsity * E)`` lowest scores, out of core (:func:`edge_keep_mask`'s rule).

    Ties are broken by edge id (the lower id is pruned first), so masks for rising sparsity from the same scores
    are nested. Integer scores are compared as float64, as the in-memory function compares them.

    Args:
        scores: ``[E]`` scores by edge id (numpy array, memory map or CPU tensor).
        sparsity: the fraction of edges removed, in ``[0, 1)``.
        chunk_size: scores read per step (rounded up to a multiple of 8).

    Returns:
        The keep-bits.

    Raises:
        ValueError: a sparsity outside ``[0, 1)``, scores that are not a real vector, or NaN (naming the first id).
    """
    sparsity = _check_sparsity(sparsity)
    array = _as_vector(scores)
    size, step = array.size, -(-max(int(chunk_size), 1) // 8) * 8
    for start, stop in _chunks(size, step):
        _refuse_nan(np.asarray(array[start:stop]), start)
    num_prune = round(sparsity * size)
    if num_prune == 0:
        return PackedEdgeMask.ones(size)

    def keyed() -> Iterator[np.ndarray]:
        for start, stop in _chunks(size, step):
            yield _keys(np.asarray(array[start:stop]))

    threshold, prune_ties, _ = _radix_select(keyed, num_prune, _key_bits(array))
    bits = np.empty((size + 7) // 8, dtype=np.uint8)
    seen = 0  # ties met so far, in id order: the first prune_ties of them are pruned
    for (start, _), keys in zip(_chunks(size, step), keyed()):
        keep = keys > threshold
        tied = np.flatnonzero(keys == threshold)
        keep[tied[max(prune_ties - seen, 0) :]] = True
        seen += tied.size
        bits[start // 8 : start // 8 + (keys.size + 7) // 8] = np.packbits(keep, bitorder=BIT_ORDER)
    return PackedEdgeMask(bits, size)


def keep_top_among(scores: Any, current: PackedEdgeMask, keep_count: int, chunk_size: int = _CHUNK) -> PackedEdgeMask:
    """Keep exactly the ``keep_count`` largest ``|score|`` among the edges ``current`` keeps (``_keep_top``'s rule).

    Ties at the threshold: the later edge ids are kept. Used to binarise learnable edge masks (UGS) at scale.

    Args:
        scores: ``[E]`` scores by edge id (numpy array, memory map or CPU tensor).
        current: the edges that may be kept.
        keep_count: how many to keep, at most ``current.count()``.
        chunk_size: scores read per step (rounded up to a multiple of 8).

    Returns:
        The keep-bits (a subset of ``current`` with ``keep_count`` bits set).

    Raises:
        ValueError: scores that are not a real vector, of another length than ``current``, NaN among them (naming
            the first id), or ``keep_count`` outside ``[0, current.count()]``.
    """
    array = _as_vector(scores)
    size, step = array.size, -(-max(int(chunk_size), 1) // 8) * 8
    if size != current.num_edges:
        raise ValueError(f"{size} scores for a mask over {current.num_edges} edges")
    alive = current.count()
    if isinstance(keep_count, bool) or int(keep_count) != keep_count or not 0 <= keep_count <= alive:
        raise ValueError(f"keep_count must be an integer in [0, {alive}] (the edges the mask keeps), got {keep_count}")
    keep_count = int(keep_count)
    for start, stop in _chunks(size, step):
        _refuse_nan(np.asarray(array[start:stop]), start)
    bits = np.zeros((size + 7) // 8, dtype=np.uint8)
    if keep_count == 0:
        return PackedEdgeMask(bits, size)

    def allowed(start: int, stop: int) -> np.ndarray:
        packed = current.bits[start // 8 : (stop + 7) // 8]
        return np.unpackbits(packed, count=stop - start, bitorder=BIT_ORDER).astype(bool)

    def keyed() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start, stop in _chunks(size, step):
            yield _keys(np.abs(np.asarray(array[start:stop]))), allowed(start, stop)

    # the keep_count-th largest is the (alive - keep_count + 1)-th smallest among the allowed
    threshold, rank, ties = _radix_select(
        lambda: (keys[mask] for keys, mask in keyed()), alive - keep_count + 1, _key_bits(array)
    )
    # the tie at rank `rank` (and the ties above it) are kept: the first rank - 1 ties are dropped
    drop_ties, seen = rank - 1, 0
    for (start, _), (keys, mask) in zip(_chunks(size, step), keyed()):
        keep = mask & (keys > threshold)
        tied = np.flatnonzero(mask & (keys == threshold))
        keep[tied[max(drop_ties - seen, 0) :]] = True
        seen += tied.size
        bits[start // 8 : start // 8 + (keys.size + 7) // 8] = np.packbits(keep, bitorder=BIT_ORDER)
    del ties
    return PackedEdgeMask(bits, size)
