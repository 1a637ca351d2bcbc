"""GAug-M (Zhao et al., AAAI 2021): modify the graph once with a trained edge predictor, then train on it.

The ``rm_pct`` % of |E| existing edges with the lowest predicted probability are removed and the ``add_pct`` %
of |E| non-edges with the highest predicted probability are added (undirected, so the result stays symmetric,
without self-loops or duplicates). The non-edges are found exactly by blockwise scoring
(:func:`~graphsparse.augment.topk.topk_non_edges`), never with an N×N matrix. The sigmoid is monotone, so
ranking by the inner-product logit ranks by probability.
"""

from __future__ import annotations

import torch

from ..graph import Graph, GraphError
from ..validation import check_float
from .topk import lowest_scoring_edges, topk_non_edges

__all__ = ["edit_counts", "gaug_m_graph"]


def edit_counts(graph: Graph, rm_pct: float, add_pct: float) -> tuple[int, int]:
    """Numbers of edges to remove and add: ``floor(pct / 100 * |E|)`` each (as the reference); bad ones raise."""
    for name, pct in (("rm_pct", rm_pct), ("add_pct", add_pct)):
        check_float(name, pct, 0.0)  # a percentage of |E|
    m = graph.num_edges
    n_rm, n_add = int(m * rm_pct / 100.0), int(m * add_pct / 100.0)
    if n_rm > m:
        raise ValueError(f"rm_pct={rm_pct} asks to remove {n_rm} edges but graph {graph.name!r} has only {m}")
    n = graph.num_nodes
    available = n * (n - 1) // 2 - m
    if n_add > available:
        raise ValueError(
            f"add_pct={add_pct} asks to add {n_add} edges but graph {graph.name!r} has only {available} non-edges"
        )
    return n_rm, n_add


def gaug_m_graph(graph: Graph, z: torch.Tensor, rm_pct: float, add_pct: float, block_size: int | None = None) -> Graph:
    """The GAug-M graph: ``graph`` with its lowest-scoring edges removed and top-scoring non-edges added.

    ``z`` are the edge predictor's node embeddings (pair score ``z_u . z_v``). Features, labels and splits
    are kept; the edge ids of the result are those of the new graph.
    """
    if graph.directed:
        raise GraphError(f"GAug-M needs an undirected graph; {graph.name!r} is directed")
    n_rm, n_add = edit_counts(graph, rm_pct, add_pct)
    if z.dim() != 2 or z.size(0) != graph.num_nodes:
        raise GraphError(f"z must have shape [{graph.num_nodes}, d], got {list(z.shape)}")
    keep = torch.ones(graph.num_edges, dtype=torch.bool)
    keep[lowest_scoring_edges(graph, z, n_rm)] = False
    added, _ = topk_non_edges(graph, z, n_add, block_size)
    edges = torch.cat([graph.edges[:, keep], added], 1)
    return graph.replace(edge_index=edges)
