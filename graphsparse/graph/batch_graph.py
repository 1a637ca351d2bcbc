"""Batch graphs cut from a validated graph without copies or checks, their dense features gathered on first use.

A Cluster-GCN batch is the subgraph induced by a few hundred of a graph's nodes, built again every step. Through
:class:`~graphsparse.graph.Graph`'s constructor it copies and re-validates every part; on a bag-of-words graph it
also gathers its dense feature rows (Coauthor Physics: 8,415 columns, ~17 MB a batch) that a model reading the
batch's CSR rows (:meth:`Graph.sparse_x`) never touches. On Coauthor Physics that was 70% of a Cluster-GCN epoch.
:func:`induced_batch` assembles the batch from slices of the parent (each already valid there) and, where the
parent has CSR features, defers the dense rows until something reads ``x``.
"""

from __future__ import annotations

from typing import Any

import torch

from .checks import Split
from .core import Graph, csr_select_rows

__all__ = ["induced_batch"]


class _DeferredRowsGraph(Graph):
    """A Graph whose dense ``x`` is its parent's rows ``nodes``, gathered when first read."""

    _rows: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def _x(self) -> torch.Tensor | None:  # type: ignore[override]
        value = self.__dict__.get("_x_value")
        if value is None and self._rows is not None:
            parent_x, nodes = self._rows
            value = parent_x[nodes]
            self.__dict__["_x_value"], self._rows = value, None
            # from now on an in-place write to x drops the derived entries, as for any Graph
            self._primary = (*self._primary, value)
            self._derived_at = self._primary_versions()
        return value

    @_x.setter
    def _x(self, value: torch.Tensor | None) -> None:
        self.__dict__["_x_value"] = value

    @property
    def num_features(self) -> int:
        """Width of the node features, without gathering them."""
        if self.__dict__.get("_x_value") is None and self._rows is not None:
            return int(self._rows[0].size(1))
        return super().num_features


def induced_batch(graph: Graph, nodes: torch.Tensor, edges: torch.Tensor, edge_ids: torch.Tensor) -> Graph:
    """The subgraph of ``graph`` induced by ``nodes``, from edges the caller found.

    Args:
        graph: the parent graph.
        nodes: sorted, distinct node ids of ``graph``.
        edges: the batch's edges ``[2, E_b]`` in batch-local ids, in ``graph``'s stored order (each undirected
            edge once, ``u < v``, sorted: a monotone relabelling of a subset of ``graph.edges`` keeps that).
        edge_ids: per batch edge, its id in ``graph``.

    Returns:
        The batch graph: features, labels and split masks are the parent's rows, edge weights its entries at
        ``edge_ids``. Where ``graph`` has CSR features (:meth:`Graph.sparse_x`) the batch holds their rows and
        gathers its dense ``x`` only when read.
    """
    sparse_x = graph.sparse_x()
    deferred = sparse_x is not None and graph.x is not None
    cls: Any = _DeferredRowsGraph if deferred else Graph
    batch = cls._assemble(
        int(nodes.numel()),
        graph.directed,
        edges,
        None if deferred or graph.x is None else graph.x[nodes],
        None if graph.y is None else graph.y[nodes],
        {name: Split(*(mask[nodes] for mask in split)) for name, split in graph.splits.items()},
        None,
        graph.name,
        None if graph.edge_weight is None else graph.edge_weight[edge_ids],
    )
    if deferred:
        batch._rows = (graph.x, nodes)
    if sparse_x is not None:  # the batch's rows of the CSR features, not a re-scan of its dense slice
        batch._set_cached("sparse_x", csr_select_rows(sparse_x, nodes))
    return batch
