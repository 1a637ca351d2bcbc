"""Lossless conversions between :class:`~graphsparse.graph.Graph` and PyTorch Geometric ``Data``, networkx and scipy.

The PyG pair lives here; the networkx pair in :mod:`.convert_networkx`, the scipy pair in :mod:`.convert_scipy`
(all importable from here and from :mod:`graphsparse.graph`).

A round trip keeps the edges, their weights, ``x``, ``y``, every named split in its order, the link-prediction edge
split and the name; what a target cannot hold (PyG ``edge_attr``, parallel networkx edges) is refused with a
:class:`GraphError`, never dropped without a word.

``Graph.to_pyg`` / ``Graph.from_pyg`` (and the networkx and scipy pairs) call these functions. This module builds
Graphs, so it imports :mod:`.core`; :mod:`.core` does not import it back: the functions are registered there
(:func:`~.core.register_converters`, at the end of this module) when this module is imported, which
:mod:`graphsparse.graph` always does.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .checks import as_long_edge_index
from .convert_networkx import from_networkx, to_networkx
from .convert_scipy import from_scipy, to_scipy
from .core import Graph, GraphError, Split, register_converters

__all__ = [
    "to_pyg",
    "from_pyg",
    "pyg_edge_graph",
    "keep_pyg_edges",
    "to_networkx",
    "from_networkx",
    "to_scipy",
    "from_scipy",
]


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

    return mask


def to_pyg(graph: Graph, *, minimal: bool = False, sort_by_row: bool = True) -> Any:
    """A PyTorch Geometric ``Data`` holding the graph (copies: writing it leaves the graph intact).

    By default (``minimal=False``) it holds everything of the graph, so :func:`from_pyg` gives the same graph back:

    - ``edge_index``: the directed view (both directions of each undirected edge, :attr:`Graph.edge_index`'s
      order); ``edge_weight`` the weights of those columns when the graph is weighted;
    - ``x``, ``y``, ``num_nodes``, ``name``, ``directed``;
    - ``train_mask`` / ``val_mask`` / ``test_mask``: the default split (:meth:`Graph.default_split_name`: ``'public'``
      when present, else the first), as PyG code expects them;
    - every split by name as ``<name>__train_mask``, ``<name>__val_mask``, ``<name>__test_mask``, and
      ``split_names``, the list of split names in the graph's order (:func:`from_pyg` reads them back in it);
    - ``edge_split``: the link-prediction split (OGB ``get_edge_split()`` layout) when the graph has one.

    With ``minimal=True`` it holds only what a PyG dataset's ``Data`` holds, so a ``Data`` read by :func:`from_pyg`
    comes back attribute by attribute: ``to_pyg(from_pyg(data), minimal=True, sort_by_row=...)`` equals ``data``
    when ``data`` is sorted as asked (``data.is_sorted(sort_by_row)``), without self-loops or repeated columns,
    with ``x`` or ``num_nodes``, a 1-D ``y``, and the three masks or none:

    - ``edge_index`` sorted as PyG's ``coalesce`` sorts it: by source, then target (``sort_by_row=True``, PyG's
      default, as in ``KarateClub``), or by target, then source (``sort_by_row=False``, as PyG's ``Planetoid``
      ships Cora, CiteSeer and PubMed); ``edge_weight`` in the same order when the graph is weighted;
    - ``x`` and ``y`` when the graph has them; ``num_nodes`` only when there is no ``x`` to tell it;
    - ``train_mask`` / ``val_mask`` / ``test_mask``: 2-D (one column per split) when the graph's splits are
      ``'0'``, ``'1'``, ... (as :func:`from_pyg` names the columns of 2-D masks), else the default split;
      no mask when the graph has no split. The other splits of a graph with several names are not written;
    - ``edge_split`` when the graph has one.

    Args:
        graph: the graph to convert.
        minimal: write only the attributes a PyG ``Data`` of the graph would hold (see above).
        sort_by_row: with ``minimal``, the order of the ``edge_index`` columns (see above); ignored otherwise.

    Returns:
        A ``torch_geometric.data.Data``.
    """
    from torch_geometric.data import Data

    if minimal:
        return _to_pyg_minimal(graph, Data, sort_by_row=bool(sort_by_row))
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


def _to_pyg_minimal(graph: Graph, data_class: type, *, sort_by_row: bool) -> Any:
    """:func:`to_pyg` with ``minimal=True``: only what a PyG dataset's ``Data`` holds."""
    edge_index = graph.edge_index
    weight = graph._directed_weight()
    first, second = (edge_index[0], edge_index[1]) if sort_by_row else (edge_index[1], edge_index[0])
    order = torch.argsort(first * graph._num_nodes + second)
    fields: dict[str, Any] = {}
    if graph._x is not None:
        fields["x"] = graph._x.clone()
    fields["edge_index"] = edge_index[:, order].clone()
    if weight is not None:
        fields["edge_weight"] = weight[order].clone()
    if graph._y is not None:
        fields["y"] = graph._y.clone()
    names = list(graph._splits)
    if names and names == [str(i) for i in range(len(names))]:
        for part in ("train", "val", "test"):
            fields[f"{part}_mask"] = torch.stack([getattr(graph._splits[name], part) for name in names], dim=1)
    elif names:
        for part, mask in zip(("train", "val", "test"), graph._splits[graph.default_split_name()]):
            fields[f"{part}_mask"] = mask.clone()
    if graph._edge_split is not None:
        fields["edge_split"] = {
            part: {k: v.clone() for k, v in values.items()} for part, values in graph._edge_split.items()
        }
    data = data_class(**fields)
    if graph._x is None:
        data.num_nodes = graph._num_nodes
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
    fill_split: bool | None = None,
    split_seed: int = 0,
) -> Graph:
    """Build from a PyG ``Data`` (or any mapping with its attribute names).

    **Direction.** ``directed=True`` (or ``undirected=False``) keeps the arcs; ``undirected=True`` (or
    ``directed=False``) pairs both directions into undirected edges. With neither, a ``directed`` attribute
    (as :func:`to_pyg` writes) decides; without one the graph is undirected, and a ``UserWarning`` says so when
    ``edge_index`` is not symmetric (the missing reverse edges are added).

    **Edges.** ``edge_weight`` (``[E]`` or ``[E, 1]``, positive) becomes :attr:`Graph.edge_weight` (both directions of
    an undirected edge must agree). ``edge_attr`` cannot be carried (a Graph holds at most one weight per edge):
    it is a :class:`GraphError` unless ``drop_edge_attr=True``. A Graph stores each edge once and no self-loops
    (the normalised operators add self-loops back where a model wants them), so self-loops and repeated
    ``(source, target)`` columns of ``edge_index`` are dropped, and a ``UserWarning`` counts both.

    **Labels.** ``y`` of shape ``[N, 1]`` (as OGB gives it) is squeezed to ``[N]``. An ``edge_split`` attribute
    (OGB ``get_edge_split()`` layout, as :func:`to_pyg` writes it) becomes the graph's edge split.

    **Splits**, in this order of precedence:

    - ``split_names`` (written by :func:`to_pyg`): the splits ``<name>__train_mask``... in that order;
    - otherwise every ``<name>__train_mask`` (with its ``__val_mask`` / ``__test_mask``) in attribute order;
    - otherwise ``train_mask`` / ``val_mask`` / ``test_mask``: 1-D masks become split ``'default'``, 2-D masks
      (one column per split, as PyG's WebKB and Geom-GCN sets) become splits ``'0'``, ``'1'``, ...;
    - ``split_idx`` (OGB's ``dataset.get_idx_split()``: ``{'train': idx, 'valid': idx, 'test': idx}``, ``'val'``
      accepted for ``'valid'``) is added as split ``split_idx_name``.

    **A train mask alone** (as PyG's ``KarateClub`` gives it: a 1-D ``train_mask``, no ``val_mask`` nor
    ``test_mask``) is completed into split ``'default'``: the nodes outside the train mask (only the labelled ones,
    ``y >= 0``, when ``y`` is a label vector) are put in a random order drawn from
    ``numpy.random.default_rng(split_seed)``; per class (all together without labels), the first half, rounded
    up, is validation and the rest test. The result is deterministic for a given ``split_seed``.
    ``fill_split=None`` (the default) does this with a ``UserWarning`` saying so, ``True`` silently, ``False``
    refuses with a :class:`GraphError`. Data without any mask gives a graph without splits; attach one with
    ``graph.replace(splits={'random': stratified_split(graph.y, seed)})`` (or ``fraction_split``, both in
    :mod:`graphsparse.data.splits`).

    Args:
        data: a ``torch_geometric.data.Data`` or a mapping of its attribute names.
        directed: keep the arcs (True) or pair them into undirected edges (False); None: see above.
        name: the graph's name (default: ``data.name``, else ``'graph'``).
        undirected: the opposite of ``directed``, for symmetry with PyG's ``to_undirected``.
        split_idx: OGB's ``get_idx_split()`` dict, added as split ``split_idx_name``.
        split_idx_name: the name of the split made from ``split_idx``.
        drop_edge_attr: drop ``data.edge_attr`` instead of refusing it.
        fill_split: how a train mask without val/test masks is completed (see above).
        split_seed: the seed of that completion.

    Returns:
        The Graph.

    Raises:
        GraphError: edge attributes, a mask missing beside the others (or a train mask alone with
            ``fill_split=False``), contradicting ``directed``/``undirected``, or anything the Graph refuses.
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

    directed = _pyg_direction(fields, directed, undirected)
    n = int(num_nodes) if num_nodes is not None else (int(edge_index.max()) + 1 if edge_index.numel() else 0)
    if directed is None:
        directed = False
        if not _is_symmetric(edge_index, n):
            warnings.warn(
                "from_pyg: edge_index is not symmetric (a directed graph); it was made undirected (each arc "
                "also counts as its reverse). Pass undirected=True to do this silently, or directed=True to "
                "keep the directions.",
                UserWarning,
                stacklevel=3,  # the caller of Graph.from_pyg
            )
    loops, repeats = _dropped_columns(edge_index, n)
    if loops or repeats:
        warnings.warn(
            f"from_pyg: dropped {loops} self-loop{'s' * (loops != 1)} and {repeats} duplicate "
            f"edge{'s' * (repeats != 1)} (repeated (source, target) columns of edge_index): a Graph stores each "
            "edge once and no self-loops (the normalised operators add self-loops back where a model wants them). "
            "torch_geometric.utils.remove_self_loops and coalesce remove them beforehand.",
            UserWarning,
            stacklevel=3,
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
        splits.update(_plain_masks(fields, y, fill_split, int(split_seed)))
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


_SPLIT_HELP = (
    "give all three masks, or make a split with graphsparse.data.splits.stratified_split(y, seed) (per class) or "
    "fraction_split(num_nodes, train, val, seed) and attach it with graph.replace(splits={'random': split})"
)


def _pyg_direction(fields: Mapping[str, Any], directed: bool | None, undirected: bool | None) -> bool | None:
    """The direction asked for (``directed``/``undirected``) or stored (``fields['directed']``); None: neither."""
    if directed is not None and undirected is not None and bool(directed) == bool(undirected):
        raise GraphError(f"from_pyg: directed={directed} contradicts undirected={undirected}")
    if undirected is not None:
        return not undirected
    if directed is not None:
        return bool(directed)
    stored = fields.get("directed")
    return None if stored is None else bool(stored)


def _dropped_columns(edge_index: torch.Tensor, num_nodes: int) -> tuple[int, int]:
    """How many columns of ``edge_index`` a Graph drops: (self-loops, repeats of an earlier ``(source, target)``)."""
    if edge_index.numel() == 0:
        return 0, 0
    row, col = edge_index
    loop = row == col
    keys = row[~loop] * max(num_nodes, 1) + col[~loop]
    return int(loop.sum()), int(keys.numel() - torch.unique(keys).numel())


def _plain_masks(fields: Mapping[str, Any], y: Any, fill_split: bool | None, seed: int) -> dict[str, Split]:
    """Splits from plain ``train_mask`` / ``val_mask`` / ``test_mask`` (1-D: ``'default'``; 2-D: ``'0'``, ...)."""
    masks = {part: fields.get(f"{part}_mask") for part in ("train", "val", "test")}
    missing = [part for part, mask in masks.items() if mask is None]
    if missing == ["val", "test"]:
        train = torch.as_tensor(masks["train"])
        if fill_split is False or train.dim() != 1 or train.dtype != torch.bool:
            why = "fill_split=False" if fill_split is False else f"a {train.dtype} mask of shape {list(train.shape)}"
            raise GraphError(f"from_pyg: the data has train_mask but no val_mask nor test_mask ({why}); {_SPLIT_HELP}")
        split = _complete_split(train, y, seed)
        if fill_split is None:
            warnings.warn(
                f"from_pyg: the data has train_mask ({int(train.sum())} nodes) but no val_mask nor test_mask; the "
                f"other labelled nodes were split at random (seed {seed}), half of each class to validation "
                f"({int(split.val.sum())} nodes) and the rest to test ({int(split.test.sum())}), as split 'default'. "
                "Pass fill_split=True to do this silently; or make your own split with "
                "graphsparse.data.splits.stratified_split / fraction_split",
                UserWarning,
                stacklevel=4,  # the caller of Graph.from_pyg
            )
        return {"default": split}
    if missing:
        absent = " nor ".join(f"{part}_mask" for part in missing)
        raise GraphError(f"from_pyg: the data has train_mask but no {absent}; {_SPLIT_HELP}")
    tr, va, te = (torch.as_tensor(masks[part]) for part in ("train", "val", "test"))
    if tr.dim() == 2:
        return {str(i): Split(tr[:, i], va[:, i], te[:, i]) for i in range(tr.size(1))}
    return {"default": Split(tr, va, te)}


def _complete_split(train: torch.Tensor, y: Any, seed: int) -> Split:
    """``train`` and the other (labelled) nodes split at random, per class, half (rounded up) val, the rest test."""
    n = train.numel()
    rest = ~train.cpu().numpy().astype(bool)
    labels = None
    if isinstance(y, (torch.Tensor, np.ndarray)) and y.ndim == 1 and len(y) == n:
        values = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if np.issubdtype(values.dtype, np.integer) or (
            np.issubdtype(values.dtype, np.floating) and np.all(np.isfinite(values) & (values == np.round(values)))
        ):
            labels = values.astype(np.int64)
            rest &= labels >= 0
    nodes = np.flatnonzero(rest)
    nodes = nodes[np.random.default_rng(seed).permutation(nodes.size)]
    classes = labels[nodes] if labels is not None else np.zeros(nodes.size, dtype=np.int64)
    order = np.argsort(classes, kind="stable")  # the random order survives inside each class
    nodes, classes = nodes[order], classes[order]
    counts = np.bincount(classes) if classes.size else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    ranks = np.arange(nodes.size) - starts[classes] if nodes.size else np.zeros(0, dtype=np.int64)
    to_val = ranks < (counts[classes] + 1) // 2 if nodes.size else np.zeros(0, dtype=bool)
    val = torch.zeros(n, dtype=torch.bool)
    test = torch.zeros(n, dtype=torch.bool)
    val[torch.from_numpy(nodes[to_val])] = True
    test[torch.from_numpy(nodes[~to_val])] = True
    return Split(train.clone(), val, test)


def pyg_edge_graph(data: Any, *, directed: bool | None = None) -> tuple[Graph, torch.Tensor]:
    """The edges of a PyG ``Data`` as :func:`from_pyg` numbers them, and which edge each column belongs to.

    The direction is read as :func:`from_pyg` reads it (``directed``, else ``data.directed``, else undirected,
    without a warning). Edge ids are those of ``from_pyg(data)``: with ``graph, ids = pyg_edge_graph(data)``,
    ``graph.edges`` equals ``from_pyg(data).edges``, so a keep-mask, score or ticket over that graph's edge ids
    applies to ``data`` through ``ids``.

    Args:
        data: a homogeneous ``torch_geometric.data.Data`` (anything with ``edge_index`` and ``num_nodes``).
        directed: keep the arcs (True) or pair them into undirected edges (False); None: ``data.directed``, else
            undirected.

    Returns:
        ``(graph, ids)``: an edges-only Graph (no features, labels nor splits; unweighted) and a long tensor with,
        for each column of ``data.edge_index``, the id of its edge in ``graph``, ``-1`` for a self-loop (which is
        no edge of a Graph).

    Raises:
        GraphError: data without ``edge_index`` (a ``HeteroData`` too), or an ``edge_index`` the Graph refuses.
    """
    raw = getattr(data, "edge_index", None)
    if raw is None:
        raise GraphError(
            f"a homogeneous torch_geometric Data with an edge_index is needed, got {type(data).__name__} without one"
        )
    edge_index = as_long_edge_index(raw)
    num_nodes = getattr(data, "num_nodes", None)
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 1
    direction = _pyg_direction({"directed": getattr(data, "directed", None)}, directed, None)
    graph = Graph(edge_index, num_nodes=int(num_nodes), directed=bool(direction))
    n = graph.num_nodes
    row, col = edge_index
    if not graph.directed:
        row, col = torch.minimum(row, col), torch.maximum(row, col)
    stored_keys = graph.edges[0] * n + graph.edges[1]  # sorted: edge id k is the k-th smallest key
    ids = torch.searchsorted(stored_keys, row * n + col)
    ids[row == col] = -1
    return graph, ids


def keep_pyg_edges(
    data: Any,
    keep: torch.Tensor,
    *,
    edge_graph: tuple[Graph, torch.Tensor] | None = None,
    directed: bool | None = None,
) -> Any:
    """A shallow copy of a PyG ``Data`` without the edges ``keep`` drops (``keep`` is over :func:`from_pyg`'s ids).

    Every column of ``edge_index`` whose edge is dropped goes, both directions of an undirected edge (and any
    repeated column) together, so a symmetric ``edge_index`` stays symmetric. The other columns keep their order,
    and every edge-level attribute (``edge_weight``, ``edge_attr``, ...) is cut the same way, by PyG's
    ``Data.edge_subgraph``; node-level and graph-level attributes (``x``, ``y``, masks, ``name``...) are shared with
    ``data``, as PyG's transforms share them. Self-loops are no edge of a Graph (they have no id): they are kept.

    Args:
        data: a homogeneous ``torch_geometric.data.Data``.
        keep: a boolean mask over the edge ids of ``from_pyg(data)`` (:func:`pyg_edge_graph`'s graph).
        edge_graph: what :func:`pyg_edge_graph` returned for ``data`` (computed when omitted).
        directed: how to read ``data``'s direction when ``edge_graph`` is omitted (see :func:`pyg_edge_graph`).

    Returns:
        The pruned ``Data``.

    Raises:
        GraphError: ``keep`` is not a boolean vector with one entry per edge of ``data``.
    """
    graph, edge_ids = edge_graph if edge_graph is not None else pyg_edge_graph(data, directed=directed)
    keep = torch.as_tensor(keep).cpu()
    if keep.dtype != torch.bool or keep.shape != (graph.num_edges,):
        kind = "arcs" if graph.directed else "undirected edges"
        raise GraphError(
            f"the keep-mask must be a boolean vector over the data's {graph.num_edges} {kind} (from_pyg's edge ids; "
            f"edge_index has {edge_ids.numel()} columns), got {keep.dtype} {list(keep.shape)}"
        )
    columns = torch.ones(edge_ids.numel(), dtype=torch.bool)
    edges = edge_ids >= 0
    columns[edges] = keep[edge_ids[edges]]
    return data.edge_subgraph(columns)


register_converters(
    to_pyg=to_pyg,
    from_pyg=from_pyg,
    to_networkx=to_networkx,
    from_networkx=from_networkx,
    to_scipy=to_scipy,
    from_scipy=from_scipy,
)
