"""Lossless conversions between :class:`~graphsparse.graph.Graph` and networkx graphs.

A round trip keeps the edges, their weights, ``x``, ``y``, every named split and the name; parallel edges (a
``MultiGraph``) are refused with a :class:`~graphsparse.graph.GraphError`. :mod:`.convert` registers these
functions with :class:`~graphsparse.graph.Graph` (``Graph.to_networkx`` / ``Graph.from_networkx``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .core import Graph, GraphError

__all__ = ["to_networkx", "from_networkx"]


def _node_attribute(g: Any, order: list[Any], attr: str, features: bool) -> torch.Tensor | None:
    """Node attribute ``attr`` of networkx graph ``g`` in node order ``order``.

    Features ``[N, F]`` or labels ``[N]``; None when no node has it.
    """
    nodes = g.nodes
    present = [attr in nodes[v] for v in order]
    if not any(present):
        return None
    if not all(present):
        missing = order[present.index(False)]
        raise GraphError(f"from_networkx: node {missing!r} has no {attr!r} attribute (other nodes have one)")
    values = [nodes[v][attr] for v in order]
    if not features:
        try:
            return torch.tensor([int(v) for v in values], dtype=torch.long)
        except (TypeError, ValueError) as err:
            raise GraphError(f"from_networkx: node attribute {attr!r} must hold integer labels: {err}") from err
    try:
        if isinstance(values[0], torch.Tensor):
            return torch.stack([v.reshape(-1) for v in values])
        if isinstance(values[0], np.ndarray):
            return torch.from_numpy(np.stack([v.reshape(-1) for v in values]))
        return torch.tensor([list(v) if not np.isscalar(v) else [v] for v in values], dtype=torch.get_default_dtype())
    except (TypeError, ValueError, RuntimeError) as err:
        raise GraphError(
            f"from_networkx: node attribute {attr!r} must be a vector of the same length per node: {err}"
        ) from err


def _mask_of(labels: Any, mapping: Mapping[Any, int], num_nodes: int, name: Any, part: str) -> torch.Tensor:
    mask = torch.zeros(num_nodes, dtype=torch.bool)
    for label in labels:
        if label not in mapping:
            raise GraphError(f"from_networkx: split {name!r} ({part}) names node {label!r}, not in the graph")
        mask[mapping[label]] = True
    return mask


def to_networkx(graph: Graph, node_attrs: bool = True) -> Any:
    """A networkx ``Graph`` (``DiGraph`` when directed) with nodes ``0..n-1``, isolated ones included.

    Edge weights are the edges' ``weight`` attribute; with ``node_attrs`` each node carries ``x`` (a list of
    floats) and ``y`` (an int). The graph attributes hold ``name`` and ``splits`` (``{name: {'train': [node,
    ...], 'val': [...], 'test': [...]}}`` in the graph's split order), which :func:`from_networkx` reads back.
    """
    import networkx as nx

    g = nx.DiGraph() if graph._directed else nx.Graph()
    g.graph["name"] = graph._name
    if graph._splits:
        g.graph["splits"] = {
            name: {part: split.index(part).tolist() for part in ("train", "val", "test")}
            for name, split in graph._splits.items()
        }
    if node_attrs and (graph._x is not None or graph._y is not None):
        xs = graph._x.tolist() if graph._x is not None else None
        ys = graph._y.tolist() if graph._y is not None else None
        for i in range(graph._num_nodes):
            attrs: dict[str, Any] = {}
            if xs is not None:
                attrs["x"] = xs[i]
            if ys is not None:
                attrs["y"] = ys[i]
            g.add_node(i, **attrs)
    else:
        g.add_nodes_from(range(graph._num_nodes))
    if graph._edge_weight is None:
        g.add_edges_from(graph._edges.t().tolist())
    else:
        g.add_weighted_edges_from(
            (u, v, w) for (u, v), w in zip(graph._edges.t().tolist(), graph._edge_weight.tolist())
        )
    return g


def from_networkx(
    g: Any,
    *,
    x_attr: str | None = "x",
    y_attr: str | None = "y",
    weight_attr: str | None = "weight",
    return_mapping: bool = False,
    **kwargs: Any,
) -> Graph | tuple[Graph, dict[Any, int]]:
    """Build from a networkx ``Graph`` / ``DiGraph`` whose nodes are any hashable labels.

    Nodes are numbered in sorted order when their labels sort (else in the graph's insertion order);
    ``return_mapping=True`` returns ``(graph, {label: index})``. Node attributes ``x_attr`` (a feature vector
    per node: list, array or tensor) and ``y_attr`` (an int label) become ``x`` / ``y`` when any node has them
    (then every node must); the edge attribute ``weight_attr`` becomes :attr:`Graph.edge_weight` when any edge has
    it (a missing one counts 1, as in networkx). Set a name to ``None`` to ignore that attribute. Graph
    attributes ``name`` and ``splits`` (as :func:`to_networkx` writes them) are read too. Other keyword
    arguments go to the constructor and take precedence (``x=``, ``y=``, ``splits=``, ``name=``, ``directed=``).

    A ``MultiGraph`` / ``MultiDiGraph`` is refused: a Graph stores each edge once, so parallel edges (and their
    attributes) would be lost silently; collapse them first (e.g. ``nx.Graph(g)``, or summing their weights).

    Labels must be integers (``-1`` for unlabelled); a float label is kept when it is a whole number (``2.0``) and
    refused otherwise (``2.5`` is never truncated to 2).

    Args:
        g: the networkx graph.
        x_attr: node attribute holding the features, or None.
        y_attr: node attribute holding the integer label, or None.
        weight_attr: edge attribute holding the weight, or None.
        return_mapping: also return ``{label: index}``.
        **kwargs: constructor arguments, taking precedence over what ``g`` holds.

    Returns:
        The Graph, or ``(graph, mapping)`` when ``return_mapping``.

    Raises:
        GraphError: a multigraph, a node missing an attribute others have, a label that is not an integer, or
            anything the Graph constructor refuses.
    """
    import math
    import operator

    def _networkx_labels(g: Any, order: list[Any], attr: str) -> torch.Tensor:
        """The integer labels of ``order``'s nodes (whole-number floats cast, others refused)."""
        labels = []
        for node in order:
            if attr not in g.nodes[node]:
                raise GraphError(f"from_networkx: node {node!r} has no {attr!r} attribute (other nodes have one)")
            value = g.nodes[node][attr]
            if isinstance(value, (torch.Tensor, np.ndarray, np.generic)) and np.size(value) == 1:
                value = value.item()  # a 0-d (or one-element) tensor or numpy scalar
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                raise GraphError(
                    f"from_networkx: node {node!r} has {attr!r} = {value!r}, not an integer class label; labels "
                    "are class indices 0..C-1 (-1 for unlabelled): map the values to classes first"
                )
            try:
                labels.append(operator.index(value) if not isinstance(value, (float, str)) else int(value))
            except (TypeError, ValueError, OverflowError) as err:
                raise GraphError(
                    f"from_networkx: node {node!r} has {attr!r} = {value!r}, not an integer class label"
                ) from err
        try:
            return torch.tensor(labels, dtype=torch.long)
        except (OverflowError, RuntimeError) as err:
            raise GraphError(f"from_networkx: node attribute {attr!r} holds a label beyond int64: {err}") from err

    if g.is_multigraph():
        raise GraphError(
            f"from_networkx: {type(g).__name__} (parallel edges) is not supported: a Graph stores each edge once. "
            "Collapse the parallel edges first, e.g. nx.Graph(g) or nx.DiGraph(g), merging their weights as needed"
        )
    labels = list(g.nodes)
    try:
        order = sorted(labels)
    except TypeError:  # labels of mixed or unorderable types: the graph's own (insertion) order
        order = labels
    mapping = {label: i for i, label in enumerate(order)}
    n = len(order)
    edge_list = list(g.edges(data=True))
    if edge_list:
        edges = torch.tensor([[mapping[u], mapping[v]] for u, v, _ in edge_list], dtype=torch.long).t()
    else:
        edges = torch.empty(2, 0, dtype=torch.long)
    edge_weight = None
    if weight_attr is not None and any(weight_attr in d for _, _, d in edge_list):
        edge_weight = torch.tensor([float(d.get(weight_attr, 1.0)) for _, _, d in edge_list])
    if "x" not in kwargs and x_attr is not None:
        kwargs["x"] = _node_attribute(g, order, x_attr, features=True)
    if "y" not in kwargs and y_attr is not None and any(y_attr in g.nodes[v] for v in order):
        kwargs["y"] = _networkx_labels(g, order, y_attr)
    if "splits" not in kwargs and isinstance(g.graph.get("splits"), Mapping):
        kwargs["splits"] = {
            str(name): tuple(_mask_of(parts.get(p, []), mapping, n, name, p) for p in ("train", "val", "test"))
            for name, parts in g.graph["splits"].items()
        }
    kwargs.setdefault("name", str(g.graph.get("name", "graph")))
    kwargs.setdefault("directed", g.is_directed())
    graph = Graph(edges, num_nodes=n, edge_weight=edge_weight, **kwargs)
    return (graph, mapping) if return_mapping else graph
