"""Exact top-k scoring node pairs without an N x N matrix: blockwise inner products with a running top-k.

For node embeddings ``z`` the score of a pair is ``z_u . z_v``. Rows are scored ``block_size`` at a time
against all columns ``v > u`` (upper triangle, so each undirected pair once and no self-pairs); existing edges
are masked out through the graph's CSR structure; each block's best ``k`` are merged with the running best
``k``. Memory is ``O(block_size * N + k)``, time ``O(N^2 d)``; the result equals a dense top-k over the
strict upper triangle of ``z z^T`` with edges removed (ties broken by the lower pair index).
"""

from __future__ import annotations

import torch

from ..graph import Graph, GraphError
from ..sparse import sparse_structure

__all__ = ["topk_non_edges", "lowest_scoring_edges", "pair_scores"]


def pair_scores(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Inner-product scores ``z_u . z_v`` of ``pairs`` ``[2, P]``."""
    return (z[pairs[0]] * z[pairs[1]]).sum(-1)


def _default_block(num_nodes: int) -> int:
    # about 4M scores per block (16 MB in float32)
    return max(1, min(num_nodes, (1 << 22) // max(num_nodes, 1)))


@torch.no_grad()
def topk_non_edges(
    graph: Graph, z: torch.Tensor, k: int, block_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest-scoring non-edges ``(u < v)`` of ``graph`` under ``z_u . z_v``.

    Returns ``(pairs [2, k], scores [k])`` sorted by descending score. Raises if fewer than ``k`` non-edges exist.
    """
    n = graph.num_nodes
    if z.dim() != 2 or z.size(0) != n:
        raise GraphError(f"z must have shape [{n}, d] (one row per node), got {list(z.shape)}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    available = n * (n - 1) // 2 - graph.num_edges
    if k > available:
        raise ValueError(f"asked for the top {k} non-edges but graph {graph.name!r} has only {available}")
    if k == 0:
        return torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=z.dtype)
    block = block_size or _default_block(n)
    s = sparse_structure(graph, self_loops=False)
    crow, col = s.crow, s.col
    z = z.detach().cpu()
    cols = torch.arange(n)
    best_scores = torch.empty(0, dtype=z.dtype)
    best_keys = torch.empty(0, dtype=torch.long)
    for start in range(0, n, block):
        stop = min(start + block, n)
        rows = torch.arange(start, stop)
        scores = z[start:stop] @ z.T
        scores.masked_fill_(cols.unsqueeze(0) <= rows.unsqueeze(1), float("-inf"))  # upper triangle only
        lo, hi = int(crow[start]), int(crow[stop])
        if hi > lo:
            edge_rows = s.row[lo:hi] - start
            scores[edge_rows, col[lo:hi]] = float("-inf")
        flat = scores.view(-1)
        take = min(k, flat.numel())
        vals, idx = torch.topk(flat, take, sorted=False)
        finite = torch.isfinite(vals)
        vals, idx = vals[finite], idx[finite]
        keys = (idx // n + start) * n + idx % n
        merged_scores = torch.cat([best_scores, vals])
        merged_keys = torch.cat([best_keys, keys])
        if merged_scores.numel() > k:
            # order by (score desc, key asc) so ties resolve deterministically
            order = torch.argsort(merged_keys)
            merged_scores, merged_keys = merged_scores[order], merged_keys[order]
            order = torch.argsort(merged_scores, descending=True, stable=True)[:k]
            merged_scores, merged_keys = merged_scores[order], merged_keys[order]
        best_scores, best_keys = merged_scores, merged_keys
    order = torch.argsort(best_keys)
    best_scores, best_keys = best_scores[order], best_keys[order]
    order = torch.argsort(best_scores, descending=True, stable=True)
    best_scores, best_keys = best_scores[order], best_keys[order]
    return torch.stack([best_keys // n, best_keys % n]), best_scores


@torch.no_grad()
def lowest_scoring_edges(graph: Graph, z: torch.Tensor, k: int) -> torch.Tensor:
    """Ids of the ``k`` existing edges with the lowest score (ties to the lower id)."""
    if k < 0 or k > graph.num_edges:
        raise ValueError(f"cannot pick {k} of the {graph.num_edges} edges of graph {graph.name!r}")
    scores = pair_scores(z.detach().cpu(), graph.edges)
    return torch.argsort(scores, stable=True)[:k]
