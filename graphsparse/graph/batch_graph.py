"""Batch graphs cut from a validated graph without copies or checks, their dense features gathered on first use.

A Cluster-GCN batch is the subgraph induced by a few hundred of a graph's nodes, built again every step. Through
:class:`~graphsparse.graph.Graph`'s constructor it copies and re-validates every part; on a bag-of-words graph it
also gathers its dense feature rows (Coauthor Physics: 8,415 columns, ~17 MB a batch) that a model reading the
batch's CSR rows (:meth:`Graph.sparse_x`) never touches. On Coauthor Physics that was 70% of a Cluster-GCN epoch.
:func:`induced_batch` assembles the batch from slices of the parent (each already valid there) and, where the
parent has CSR features, defers the dense rows until something reads ``x``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .checks import Split
from .core import Graph, csr_select_rows

__all__ = ["induced_batch", "with_csr_features"]


class _DeferredRowsGraph(Graph):
    """A Graph whose dense ``x`` is computed by ``_x_source`` (width ``_x_width``) when first read."""

    _x_source: Callable[[], torch.Tensor] | None = None
    _x_width: int = 0

    @property
    def _x(self) -> torch.Tensor | None:  # type: ignore[override]
        value = self.__dict__.get("_x_value")
        if value is None and self._x_source is not None:
            value = self._x_source()
            self.__dict__["_x_value"], self._x_source = value, None
            # from now on an in-place write to x drops the derived entries, as for any Graph
            self._derived.watch(value)
        return value

    @_x.setter
    def _x(self, value: torch.Tensor | None) -> None:
        self.__dict__["_x_value"] = value

    def __getstate__(self) -> dict[str, Any]:
        """Pickle with the features made (a source is a closure, which does not pickle)."""
        _ = self._x
        return {k: v for k, v in self.__dict__.items() if k != "_x_source"}

    @property
    def num_features(self) -> int:
        """Width of the node features, without computing them."""
        if self.__dict__.get("_x_value") is None and self._x_source is not None:
            return self._x_width
        return super().num_features


def _deferred(parts: tuple[Any, ...], source: Callable[[], torch.Tensor], width: int, sparse_x: torch.Tensor) -> Graph:
    """A graph of validated ``parts`` (``Graph._assemble``'s arguments, ``x`` None) with deferred features.

    Its dense ``x`` comes from ``source`` when read; its :meth:`Graph.sparse_x` is ``sparse_x``.
    """
    graph = _DeferredRowsGraph._assemble(*parts)
    graph._x_source, graph._x_width = source, int(width)
    graph._set_cached("sparse_x", sparse_x)
    return graph


def with_csr_features(
    graph: Graph, sparse_x: torch.Tensor, *, dense: Callable[[], torch.Tensor] | None = None
) -> Graph:
    """``graph`` (which has no ``x``) with CSR features ``sparse_x``; its dense ``x`` is made only when read.

    For batches read from CSR files (a disk graph's bag-of-words features): a GCN multiplies the CSR rows, and
    the dense copy (Coauthor Physics: 8,415 columns) is never made unless something asks for ``x``.

    Args:
        graph: a validated graph without features.
        sparse_x: its features, a CSR tensor ``[N, F]`` of finite float32 values.
        dense: makes the dense ``x`` when it is read (default ``sparse_x.to_dense()``, which turns a stored -0.0
            into 0.0; a reader that must give back the stored bits passes its own).

    Returns:
        The graph with features (no tensor of ``graph`` is copied).

    Raises:
        ValueError: ``graph`` has features already, or ``sparse_x`` has another number of rows.
    """
    if graph.x is not None:
        raise ValueError("with_csr_features: the graph has features already")
    if sparse_x.size(0) != graph.num_nodes:
        raise ValueError(f"with_csr_features: {sparse_x.size(0)} feature rows for {graph.num_nodes} nodes")
    parts = (graph.num_nodes, graph.directed, graph._edges, None, graph.y, dict(graph.splits), graph._edge_split,
             graph.name, graph.edge_weight)  # fmt: skip
    return _deferred(parts, dense or sparse_x.to_dense, sparse_x.size(1), sparse_x)


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
    parts = (
        int(nodes.numel()),
        graph.directed,
        edges,
        None,
        None if graph.y is None else graph.y[nodes],
        {name: Split(*(mask[nodes] for mask in split)) for name, split in graph.splits.items()},
        None,
        graph.name,
        None if graph.edge_weight is None else graph.edge_weight[edge_ids],
    )
    if sparse_x is None or graph.x is None:
        return Graph._assemble(*parts[:3], None if graph.x is None else graph.x[nodes], *parts[4:])
    parent_x = graph.x
    # the batch's rows of the CSR features, not a re-scan of its dense slice
    return _deferred(parts, lambda: parent_x[nodes], parent_x.size(1), csr_select_rows(sparse_x, nodes))
