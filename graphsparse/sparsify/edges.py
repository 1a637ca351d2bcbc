r"""Edge scorers and edge pruning over undirected edge ids.

Every scorer has one interface, ``scorer(graph, ...) -> Tensor[M]`` with one score per stored edge id
(``graph.edges[:, k]`` has id ``k``); **low scores are pruned first**. :func:`edge_keep_mask` turns scores into
a boolean keep-mask and :func:`prune_edges` returns a new, smaller :class:`~graphsparse.graph.Graph` (edges
really removed). Because decisions are over undirected ids, a pruned graph keeps both directions of every
kept edge.

TEDDY (Seo et al., "TEDDY: Trimming Edges with Degree-based Discrimination strategY", ICLR 2024) scores
edges by the degrees around them: with :math:`d_i` the degree of node :math:`i` (no self-loops),

.. math::
    g_i = \frac{1}{d_i} \sum_{k \in \mathcal{N}(i)} d_k^{-1/2}, \qquad
    \hat g_i = g_i / d_i, \qquad
    s_{ij} = \hat g_i \, \hat g_j,

so edges between low-degree nodes (whose messages matter most) score high and are kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from numbers import Real
from pathlib import Path

import numpy as np
import torch

from ..data.diskview import DiskGLTGraph, work_folder
from ..data.edgemask import PackedEdgeMask
from ..graph import Graph

__all__ = [
    "check_sparsity",
    "teddy_edge_scores",
    "random_edge_scores",
    "degree_product_scores",
    "edge_keep_mask",
    "prune_edges",
]


def check_sparsity(sparsity: float, what: str = "sparsity") -> float:
    """Return ``sparsity`` as a float after checking it lies in ``[0, 1)``; ValueError otherwise."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, Real):
        raise ValueError(f"{what} must be a number in [0, 1), got {type(sparsity).__name__} {sparsity!r}")
    value = float(sparsity)
    if math.isnan(value) or not 0.0 <= value < 1.0:
        raise ValueError(f"{what} must lie in [0, 1) (the fraction removed), got {sparsity!r}")
    return value


def _check_undirected(graph: Graph, scorer: str) -> None:
    if graph.directed:
        raise ValueError(f"{scorer} needs an undirected graph; graph {graph.name!r} is directed")


def _disk_scores(graph: DiskGLTGraph, name: str, compute: Callable[[Path], object]) -> np.memmap:
    """Scores of a disk graph's edges in a file beside it, computed once (``compute(path)`` writes the file)."""
    path = work_folder(graph.folder) / f"{name}-{graph.fingerprint()[:16]}.npy"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
        compute(tmp)
        os.replace(tmp, path)  # complete or absent: a concurrent worker writes the same values
    scores = np.load(path, mmap_mode="r")
    if scores.shape != (graph.total_edges,):
        raise ValueError(f"{path}: holds {list(scores.shape)} scores for {graph.total_edges} edges; delete it")
    return scores


def teddy_edge_scores(graph: Graph | DiskGLTGraph) -> torch.Tensor | np.memmap:
    r"""TEDDY edge scores :math:`s_{ij} = (g_i/d_i)(g_j/d_j)`, one per edge id, computed in O(E).

    :math:`g_i` is the mean of :math:`d_k^{-1/2}` over the neighbours :math:`k` of :math:`i` (degrees without
    self-loops). Low scores are pruned first.

    Args:
        graph: an undirected graph, or a disk graph (its scores are streamed from its CSR into a file beside it,
            the same values as in memory).

    Returns:
        ``float32 [M]`` scores by edge id (a read-only memory map for a disk graph).

    Raises:
        ValueError: the graph is directed.
    """
    if isinstance(graph, DiskGLTGraph):
        from ..data.disk_scores import disk_teddy_edge_scores

        return _disk_scores(graph, "teddy", lambda out: disk_teddy_edge_scores(graph.folder, out))
    _check_undirected(graph, "teddy_edge_scores")
    row, col = graph.edge_index  # both directions
    deg = torch.zeros(graph.num_nodes, dtype=torch.float64)
    deg.index_add_(0, row, torch.ones(row.numel(), dtype=torch.float64))
    inv_sqrt = deg.clamp(min=1).pow(-0.5)
    neighbour_sum = torch.zeros(graph.num_nodes, dtype=torch.float64)
    neighbour_sum.index_add_(0, row, inv_sqrt[col])
    # isolated nodes touch no edge, so their value never enters a score
    g_hat = neighbour_sum / deg.clamp(min=1).pow(2)  # (sum / d) / d
    u, v = graph.edges
    return (g_hat[u] * g_hat[v]).float()


def random_edge_scores(graph: Graph | DiskGLTGraph, seed: int = 0) -> torch.Tensor | np.memmap:
    """Uniform random scores in ``[0, 1)`` from a private generator seeded with ``seed`` (random pruning).

    Args:
        graph: the graph, or a disk graph (numpy's PCG64 stream, drawn in chunks into a file beside it).
        seed: the generator's seed.

    Returns:
        ``[M]`` scores by edge id (a read-only memory map for a disk graph).
    """
    if isinstance(graph, DiskGLTGraph):
        from ..data.disk_scores import disk_random_edge_scores

        edges = graph.total_edges
        return _disk_scores(graph, f"random-seed{int(seed)}", lambda out: disk_random_edge_scores(edges, seed, out))
    generator = torch.Generator().manual_seed(int(seed))
    return torch.rand(graph.num_edges, generator=generator)


def degree_product_scores(graph: Graph) -> torch.Tensor:
    r"""Score :math:`1 / (d_u d_v)`: edges between hubs score low and are pruned first."""
    _check_undirected(graph, "degree_product_scores")
    deg = graph.degree().double()
    u, v = graph.edges
    return (1.0 / (deg[u] * deg[v])).float()


def edge_keep_mask(scores: torch.Tensor | np.memmap, sparsity: float) -> torch.Tensor | PackedEdgeMask:
    """Boolean keep-mask removing the ``round(sparsity * M)`` lowest-scoring edges.

    Ties are broken by edge id (the lower id is pruned first), so the result is deterministic and masks for
    increasing sparsity from the same scores are nested.

    Args:
        scores: one score per edge id; a memory map (a disk graph's scores) is selected out of core.
        sparsity: the fraction removed, in [0, 1).

    Returns:
        A boolean tensor, or for memory-mapped scores the same decisions as keep-bits.

    Raises:
        ValueError: a sparsity out of range, scores that are not a real vector, or NaN scores.
    """
    sparsity = check_sparsity(sparsity)
    if isinstance(scores, np.memmap):
        from ..data.disk_scores import keep_mask_lowest_pruned

        return keep_mask_lowest_pruned(scores, sparsity)
    scores = torch.as_tensor(scores)
    if scores.dim() != 1:
        raise ValueError(f"edge scores must be a vector [M] over edge ids, got shape {list(scores.shape)}")
    if scores.dtype.is_complex or scores.dtype == torch.bool:
        raise ValueError(f"edge scores must be real numbers, got dtype {scores.dtype}")
    scores = scores.detach().cpu().double()
    if torch.isnan(scores).any():
        raise ValueError(f"edge scores hold NaN (first at edge id {int(torch.isnan(scores).nonzero()[0])})")
    num_prune = round(sparsity * scores.numel())
    order = torch.sort(scores, stable=True).indices  # ascending; ties keep id order
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    keep[order[:num_prune]] = False
    return keep


def prune_edges(graph: Graph, scores: torch.Tensor, sparsity: float) -> Graph:
    """A new Graph without the ``round(sparsity * M)`` lowest-scoring edges (see :func:`edge_keep_mask`)."""
    scores = torch.as_tensor(scores)
    if scores.dim() != 1 or scores.numel() != graph.num_edges:
        raise ValueError(
            f"edge scores have shape {list(scores.shape)} but graph {graph.name!r} has {graph.num_edges} edges; "
            "give one score per edge id"
        )
    return graph.keep_edges(edge_keep_mask(scores, sparsity))
