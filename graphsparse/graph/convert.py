"""Lossless conversions between :class:`~graphsparse.graph.Graph` and PyTorch Geometric ``Data``, networkx and scipy.

``Graph.to_pyg`` / ``Graph.from_pyg`` (and the networkx and scipy pairs) call these. A round trip keeps the edges,
their weights, ``x``, ``y``, every named split in its order, the link-prediction edge split and the name; what a
target cannot hold (PyG ``edge_attr``, parallel networkx edges) is refused with a :class:`GraphError`, never
dropped without a word.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .checks import as_long_edge_index
from .core import Graph, GraphError, Split

__all__ = ["to_pyg", "from_pyg", "to_networkx", "from_networkx", "to_scipy", "from_scipy"]


def _is_symmetric(edge_index: torch.Tensor, num_nodes: int) -> bool:
    """Whether every arc (self-loops aside) of ``edge_index`` has its reverse."""
    row, col = edge_index
    keep = row != col
    row, col = row[keep], col[keep]
    return torch.equal(torch.unique(row * num_nodes + col), torch.unique(col * num_nodes + row))


def _split_from_index(split_idx: Mapping[str, Any], num_nodes: int) -> tuple[torch.Tensor, ...]:
    """Boolean masks (train, val, test) from OGB's ``{'train': idx, 'valid': idx, 'test': idx}``."""
    if not isinstance(split_idx, Mapping):
        raise GraphError(f"split_idx must be a mapping {{'train', 'valid', 'test'}} -> indices, got {type(split_idx)}")
    masks = []
    for keys in (("train",), ("valid", "val"), ("test",)):
        key = next((k for k in keys if k in split_idx), None)
        if key is None:
            raise GraphError(f"split_idx has no {' / '.join(repr(k) for k in keys)} entry; it has {sorted(split_idx)}")
        source = split_idx[key]
        index = torch.from_numpy(np.asarray(source)) if not isinstance(source, torch.Tensor) else source
        index = index.reshape(-1)
        if index.dtype == torch.bool:
            if index.numel() != num_nodes:
                raise GraphError(f"split_idx[{key!r}] is a mask of {index.numel()} entries, expected {num_nodes}")
            masks.append(index.clone())
            continue
        if index.dtype.is_floating_point or index.dtype.is_complex:
            raise GraphError(f"split_idx[{key!r}] must hold node indices (integers), got {index.dtype}")
        index = index.long()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_nodes):
            raise GraphError(f"split_idx[{key!r}] holds a node index out of range for num_nodes={num_nodes}")
        mask = torch.zeros(num_nodes, dtype=torch.bool)
        mask[index] = True
        masks.append(mask)
    return tuple(masks)


def _node_attribute(g: Any, order: list[Any], attr: str, features: bool) -> torch.Tensor | None:
    """Node attribute ``attr`` of networkx graph ``g`` in node order ``order``: features ``[N, F]`` or labels
    ``[N]``; None when no node has it."""
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


def to_pyg(graph: Graph) -> Any:
    """A PyTorch Geometric ``Data`` holding everything of the graph (copies: writing it leaves the graph intact).

    - ``edge_index``: the directed view (both directions of each undirected edge); ``edge_weight`` the
      weights of those columns when the graph is weighted;
    - ``x``, ``y``, ``num_nodes``, ``name``, ``directed``;
    - ``train_mask`` / ``val_mask`` / ``test_mask``: the default split (:meth:`Graph.default_split_name`: ``'public'``
      when present, else the first), as PyG code expects them;
    - every split by name as ``<name>__train_mask``, ``<name>__val_mask``, ``<name>__test_mask``, and
      ``split_names``, the list of split names in the graph's order (:func:`from_pyg` reads them back in it);
    - ``edge_split``: the link-prediction split (OGB ``get_edge_split()`` layout) when the graph has one.
    """
    from torch_geometric.data import Data

    data = Data(edge_index=graph.edge_index.clone(), num_nodes=graph._num_nodes)
    weight = graph._directed_weight()
    if weight is not None:
        data.edge_weight = weight.clone()
    if graph._x is not None:
        data.x = graph._x.clone()
    if graph._y is not None:
        data.y = graph._y.clone()
    default = graph.default_split_name()
    if default is not None:
        for part, mask in zip(("train", "val", "test"), graph._splits[default]):
            data[f"{part}_mask"] = mask.clone()
    for name, split in graph._splits.items():
        for part, mask in zip(("train", "val", "test"), split):
            data[f"{name}__{part}_mask"] = mask.clone()
    data.split_names = list(graph._splits)
    if graph._edge_split is not None:
        data.edge_split = {
            part: {k: v.clone() for k, v in fields.items()} for part, fields in graph._edge_split.items()
        }
    data.directed = graph._directed
    data.name = graph._name
    return data


def from_pyg(
    data: Any,
    directed: bool | None = None,
    name: str | None = None,
    *,
    undirected: bool | None = None,
    split_idx: Mapping[str, Any] | None = None,
    split_idx_name: str = "ogb",
    drop_edge_attr: bool = False,
) -> Graph:
    """Build from a PyG ``Data`` (or any mapping with its attribute names).

    **Direction.** ``directed=True`` (or ``undirected=False``) keeps the arcs; ``undirected=True`` (or
    ``directed=False``) pairs both directions into undirected edges. With neither, a ``directed`` attribute
    (as :func:`to_pyg` writes) decides; without one the graph is undirected, and a ``UserWarning`` says so when
    ``edge_index`` is not symmetric (the missing reverse edges are added).

    **Edges.** ``edge_weight`` (``[E]`` or ``[E, 1]``, positive) becomes :attr:`Graph.edge_weight` (both directions of
    an undirected edge must agree). ``edge_attr`` cannot be carried (a Graph holds at most one weight per edge):
    it is a :class:`GraphError` unless ``drop_edge_attr=True``.

    **Labels.** ``y`` of shape ``[N, 1]`` (as OGB gives it) is squeezed to ``[N]``. An ``edge_split`` attribute
    (OGB ``get_edge_split()`` layout, as :func:`to_pyg` writes it) becomes the graph's edge split.

    **Splits**, in this order of precedence:

    - ``split_names`` (written by :func:`to_pyg`): the splits ``<name>__train_mask``... in that order;
    - otherwise every ``<name>__train_mask`` (with its ``__val_mask`` / ``__test_mask``) in attribute order;
    - otherwise ``train_mask`` / ``val_mask`` / ``test_mask``: 1-D masks become split ``'default'``, 2-D masks
      (one column per split, as PyG's WebKB and Geom-GCN sets) become splits ``'0'``, ``'1'``, ...;
    - ``split_idx`` (OGB's ``dataset.get_idx_split()``: ``{'train': idx, 'valid': idx, 'test': idx}``, ``'val'``
      accepted for ``'valid'``) is added as split ``split_idx_name``.
    """
    if isinstance(data, Mapping):
        fields = dict(data)
    elif callable(getattr(data, "to_dict", None)):
        fields = data.to_dict()  # attribute order (``data.keys()`` is a set: its order follows the hash seed)
    else:
        raise GraphError(f"from_pyg needs a torch_geometric Data (or a mapping), got {type(data).__name__}")
    if fields.get("edge_index") is None:
        raise GraphError("from_pyg: the data has no edge_index")
    if fields.get("edge_attr") is not None and not drop_edge_attr:
        shape = list(getattr(fields["edge_attr"], "shape", []))
        raise GraphError(
            f"from_pyg: data.edge_attr (shape {shape}) cannot be carried: a Graph holds at most one positive "
            "weight per edge; pass scalar weights as data.edge_weight, or from_pyg(..., drop_edge_attr=True) "
            "to drop it"
        )
    edge_index = as_long_edge_index(fields["edge_index"])
    num_nodes = getattr(data, "num_nodes", None) if not isinstance(data, Mapping) else fields.get("num_nodes")
    if num_nodes is None:
        num_nodes = fields.get("num_nodes")

    if directed is not None and undirected is not None and bool(directed) == bool(undirected):
        raise GraphError(f"from_pyg: directed={directed} contradicts undirected={undirected}")
    if undirected is not None:
        directed = not undirected
    elif directed is None:
        stored = fields.get("directed")
        if stored is not None:
            directed = bool(stored)
        else:
            directed = False
            n = num_nodes if num_nodes is not None else (int(edge_index.max()) + 1 if edge_index.numel() else 0)
            if not _is_symmetric(edge_index, int(n)):
                warnings.warn(
                    "from_pyg: edge_index is not symmetric (a directed graph); it was made undirected (each arc "
                    "also counts as its reverse). Pass undirected=True to do this silently, or directed=True to "
                    "keep the directions.",
                    UserWarning,
                    stacklevel=3,  # the caller of Graph.from_pyg
                )

    y = fields.get("y")
    if isinstance(y, (torch.Tensor, np.ndarray)) and y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)

    splits: dict[str, Split] = {}

    def named(base: str) -> Split:
        parts = []
        for part in ("train", "val", "test"):
            key = f"{base}__{part}_mask"
            if fields.get(key) is None:
                raise GraphError(f"from_pyg: split {base!r} has no {key}")
            parts.append(fields[key])
        return Split(*parts)

    names = fields.get("split_names")
    if names is not None:
        for base in names:
            splits[str(base)] = named(str(base))
    else:
        for key in fields:
            if key.endswith("__train_mask"):
                base = key[: -len("__train_mask")]
                splits[base] = named(base)
    if not splits and fields.get("train_mask") is not None:
        masks = []
        for part in ("train", "val", "test"):
            if fields.get(f"{part}_mask") is None:
                raise GraphError(f"from_pyg: the data has train_mask but no {part}_mask")
            masks.append(torch.as_tensor(fields[f"{part}_mask"]))
        tr, va, te = masks
        if tr.dim() == 2:
            for i in range(tr.size(1)):
                splits[str(i)] = Split(tr[:, i], va[:, i], te[:, i])
        else:
            splits["default"] = Split(tr, va, te)
    if split_idx is not None:
        size = num_nodes
        if size is None:
            raise GraphError("from_pyg: split_idx needs the number of nodes (data.num_nodes)")
        splits[str(split_idx_name)] = _split_from_index(split_idx, int(size))

    return Graph(
        edge_index,
        num_nodes=num_nodes,
        x=fields.get("x"),
        y=y,
        splits=splits,
        directed=bool(directed),
        name=name or str(fields.get("name", "graph")),
        edge_weight=fields.get("edge_weight"),
        edge_split=fields.get("edge_split"),
    )


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


def to_scipy(graph: Graph) -> Any:
    """A ``scipy.sparse.csr_matrix`` adjacency (symmetric when undirected, no self-loops): the edge weights,
    or ones (float32) when the graph is unweighted."""
    import scipy.sparse as sp

    row, col = graph.edge_index.numpy()
    weight = graph._directed_weight()
    data = np.ones(row.size, dtype=np.float32) if weight is None else weight.numpy().copy()
    return sp.csr_matrix((data, (row, col)), shape=(graph._num_nodes, graph._num_nodes))


def from_scipy(matrix: Any, weighted: bool | None = None, **kwargs: Any) -> Graph:
    """Build from a square scipy sparse adjacency: every non-zero (after summing duplicate entries, as scipy
    does) is an edge, its value the edge's weight.

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
