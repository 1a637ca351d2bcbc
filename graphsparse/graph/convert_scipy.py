"""Conversions between :class:`~graphsparse.graph.Graph` and scipy sparse adjacency matrices.

:mod:`.convert` registers these functions with :class:`~graphsparse.graph.Graph` (``Graph.to_scipy`` /
``Graph.from_scipy``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .core import Graph, GraphError

__all__ = ["to_scipy", "from_scipy"]


def to_scipy(graph: Graph) -> Any:
    """Return a ``scipy.sparse.csr_matrix`` adjacency (symmetric when undirected, no self-loops).

    Its values are the edge weights, or ones (float32) when the graph is unweighted.
    """
    import scipy.sparse as sp

    row, col = graph.edge_index.numpy()
    weight = graph._directed_weight()
    data = np.ones(row.size, dtype=np.float32) if weight is None else weight.numpy().copy()
    return sp.csr_matrix((data, (row, col)), shape=(graph._num_nodes, graph._num_nodes))


def from_scipy(matrix: Any, weighted: bool | None = None, **kwargs: Any) -> Graph:
    """Build from a square scipy sparse adjacency: every non-zero is an edge, its value the edge's weight.

    Duplicate entries are summed first, as scipy does.

    ``weighted=None`` makes a weighted graph unless every value is 1; ``False`` ignores the values; ``True``
    always keeps them. Values must be positive and finite; for an undirected graph ``A[u, v]`` and ``A[v, u]``
    must agree where both are stored.
    """
    if matrix.shape[0] != matrix.shape[1]:
        raise GraphError(f"adjacency matrix must be square, got shape {matrix.shape}")
    csr = matrix.tocsr(copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    coo = csr.tocoo()
    edges = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = np.asarray(coo.data)
    if weighted is None:
        weighted = bool(values.size) and not bool(np.all(values == 1))
    edge_weight = torch.from_numpy(values.copy()) if weighted else None
    return Graph(edges, num_nodes=coo.shape[0], edge_weight=edge_weight, **kwargs)
