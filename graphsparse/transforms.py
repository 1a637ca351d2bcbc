"""PyTorch Geometric transforms that sparsify a ``Data``: a PyG user prunes without leaving PyG.

Each is a ``torch_geometric.transforms.BaseTransform``, so it goes in a ``Compose`` or a dataset's ``transform``::

    from torch_geometric.transforms import Compose, NormalizeFeatures
    from graphsparse.transforms import TeddyPrune

    data = Compose([NormalizeFeatures(), TeddyPrune(0.3)])(data)  # 30% of the undirected edges removed

- :class:`TeddyPrune` removes the given fraction of undirected edges with the lowest TEDDY scores
  (:func:`graphsparse.sparsify.teddy_edge_scores`: edges between high-degree nodes go first);
- :class:`RandomEdgePrune` removes the given fraction at random (seeded: the same edges on every call);
- :class:`ApplyTicket` keeps the edges a graph lottery ticket keeps (:meth:`graphsparse.sparsify.Ticket.apply`).

**What they count and keep.** Edges are read as :meth:`graphsparse.Graph.from_pyg` reads them: undirected unless
``data.directed`` is True, so the two columns ``(u, v)`` and ``(v, u)`` are one edge, and self-loops are no edge.
A fraction ``f`` removes ``round(f * M)`` of the ``M`` undirected edges (ties broken by edge id, so the result
is deterministic), and both directions of a removed edge go, so a symmetric ``edge_index`` stays symmetric.
The kept columns keep their order; every edge-level attribute (``edge_weight``, ``edge_attr``, ...) is cut with
``edge_index`` by PyG's ``Data.edge_subgraph``; node-level and graph-level attributes (``x``, ``y``, the masks,
anything else) are carried over unchanged, and self-loops are kept. The input ``Data`` is not modified.
"""

from __future__ import annotations

import os
from typing import Any

from torch_geometric.transforms import BaseTransform

from .graph.convert import keep_pyg_edges, pyg_edge_graph
from .sparsify.edges import check_sparsity, edge_keep_mask, random_edge_scores, teddy_edge_scores
from .sparsify.ticket import Ticket

__all__ = ["TeddyPrune", "RandomEdgePrune", "ApplyTicket"]


def _check_data(data: Any, transform: str) -> None:
    if getattr(data, "edge_index", None) is None:
        raise TypeError(
            f"{transform} takes a homogeneous torch_geometric Data with an edge_index, got {type(data).__name__} "
            "without one (a HeteroData: apply it to each edge type's homogeneous Data)"
        )


class TeddyPrune(BaseTransform):
    """Remove the fraction ``fraction`` of undirected edges with the lowest TEDDY scores (Seo et al., ICLR 2024).

    Args:
        fraction: the fraction of undirected edges to remove, in ``[0, 1)``.

    Raises:
        ValueError: ``fraction`` outside ``[0, 1)``; on call, a ``Data`` marked ``directed`` (TEDDY scores
            undirected graphs).
        TypeError: on call, something other than a homogeneous ``Data``.
    """

    def __init__(self, fraction: float) -> None:
        """Check and store ``fraction`` (see the class docstring)."""
        self.fraction = check_sparsity(fraction, "TeddyPrune fraction")

    def forward(self, data: Any) -> Any:
        """The pruned ``Data`` (see the module docstring for what is kept)."""
        _check_data(data, "TeddyPrune")
        graph, ids = pyg_edge_graph(data)
        keep = edge_keep_mask(teddy_edge_scores(graph), self.fraction)
        return keep_pyg_edges(data, keep, edge_graph=(graph, ids))

    def __repr__(self) -> str:
        """The transform and its fraction, e.g. ``TeddyPrune(fraction=0.2)``."""
        return f"{type(self).__name__}(fraction={self.fraction})"


class RandomEdgePrune(BaseTransform):
    """Remove the fraction ``fraction`` of undirected edges at random, drawn from a generator seeded with ``seed``.

    The same ``Data`` loses the same edges on every call (the random baseline of a pruning study, not a
    per-epoch augmentation like PyG's ``DropEdge``).

    Args:
        fraction: the fraction of undirected edges to remove, in ``[0, 1)``.
        seed: the seed of the scores (:func:`graphsparse.sparsify.random_edge_scores`).

    Raises:
        ValueError: ``fraction`` outside ``[0, 1)``.
        TypeError: on call, something other than a homogeneous ``Data``.
    """

    def __init__(self, fraction: float, *, seed: int = 0) -> None:
        """Check and store ``fraction`` and ``seed`` (see the class docstring)."""
        self.fraction = check_sparsity(fraction, "RandomEdgePrune fraction")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"RandomEdgePrune seed must be an int, got {type(seed).__name__} {seed!r}")
        self.seed = seed

    def forward(self, data: Any) -> Any:
        """The pruned ``Data`` (see the module docstring for what is kept)."""
        _check_data(data, "RandomEdgePrune")
        graph, ids = pyg_edge_graph(data)
        keep = edge_keep_mask(random_edge_scores(graph, seed=self.seed), self.fraction)
        return keep_pyg_edges(data, keep, edge_graph=(graph, ids))

    def __repr__(self) -> str:
        """The transform, its fraction and its seed."""
        return f"{type(self).__name__}(fraction={self.fraction}, seed={self.seed})"


class ApplyTicket(BaseTransform):
    """Keep only the edges a graph lottery ticket keeps: ``ApplyTicket(ticket)(data)`` is ``ticket.apply(data)``.

    For a ``data`` without self-loops or repeated columns, in PyG's coalesced order or as ``Graph.to_pyg`` writes
    it, the result equals ``to_pyg(ticket.apply(from_pyg(data)))`` (with ``minimal=True`` for a coalesced
    ``data``) attribute by attribute.

    Args:
        ticket: a :class:`~graphsparse.sparsify.Ticket`, or the path of one saved by :meth:`Ticket.save`.

    Raises:
        TypeError: ``ticket`` is neither a Ticket nor a path; on call, something other than a homogeneous ``Data``.
        GraphError: on call, a ``Data`` whose number of edges differs from the ticket's (another graph).
    """

    def __init__(self, ticket: Ticket | str | os.PathLike[str]) -> None:
        """Store ``ticket``, loading it first when given a path (see the class docstring)."""
        if isinstance(ticket, (str, os.PathLike)):
            ticket = Ticket.load(ticket)
        if not isinstance(ticket, Ticket):
            raise TypeError(f"ApplyTicket takes a Ticket or the path of a saved one, got {type(ticket).__name__}")
        self.ticket = ticket

    def forward(self, data: Any) -> Any:
        """The pruned ``Data`` (see :meth:`Ticket.apply`)."""
        _check_data(data, "ApplyTicket")
        return self.ticket.apply(data)

    def __repr__(self) -> str:
        """The transform and how many of the ticket's edges it keeps."""
        kept = int(self.ticket.edge_keep_mask.sum())
        return f"{type(self).__name__}(kept {kept} of {self.ticket.edge_keep_mask.numel()} edges)"
