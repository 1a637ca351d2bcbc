"""The checks a :class:`~graphsparse.graph.Graph` runs on its inputs, and the coalescing of raw edge lists.

The checks run at construction (and on ``replace``); coalescing turns raw edge lists into stored undirected edges.
Every invalid input becomes a :class:`GraphError` naming the field and the value, so the rest of the library can
trust a Graph's content.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "GraphError",
    "Split",
    "MAX_NUM_NODES",
    "MAX_LABEL_FLOOR",
    "as_long_edge_index",
    "coalesce",
    "coalesce_weighted",
    "check_num_nodes",
    "check_edges",
    "check_edge_weight",
    "check_rows",
    "check_x",
    "check_y",
    "check_splits",
    "check_split_labels",
    "check_edge_split",
    "FEATURE_DTYPE",
]

# Edge keys ``row * num_nodes + col`` (coalescing here, CSR order in sparse.py, candidate pairs in augment/ and data/)
# must not overflow int64, or distinct edges silently collide: num_nodes is refused above floor(sqrt(2^63 - 1)).
MAX_NUM_NODES = 3_037_000_499
# Labels index the classes (num_classes = max label + 1), so one corrupt label of 10^9 would ask for 10^9 output
# units. A label must be below the number of nodes, or below this floor on small graphs (a Cluster-GCN batch or a
# subgraph of a few nodes keeps its parent's labels).
MAX_LABEL_FLOOR = 1 << 16
# Node features are stored in one dtype: every model's weights are float32, so float64 (numpy's default), float16,
# bfloat16, integer or boolean features would otherwise fail inside the first layer with an opaque dtype error.
FEATURE_DTYPE = torch.float32


class GraphError(ValueError):
    """Raised for any invalid graph, dataset file or graph-level argument; the message names the problem."""


def _owned(tensor: torch.Tensor, source: Any) -> torch.Tensor:
    """``tensor`` (converted from the caller's ``source``) as storage of its own: a copy when they share memory."""
    if isinstance(source, torch.Tensor):
        shares = tensor.untyped_storage().data_ptr() == source.untyped_storage().data_ptr()
    elif isinstance(source, np.ndarray):
        shares = tensor.device.type == "cpu" and bool(np.may_share_memory(source, tensor.detach().numpy()))
    else:
        shares = False  # torch.as_tensor built it from a list or scalar
    return tensor.clone() if shares else tensor


@dataclass(frozen=True)
class Split:
    """Boolean node masks of one train/validation/test split."""

    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    def __iter__(self) -> Iterator[torch.Tensor]:
        """Iterate over the three masks: ``train, val, test = split``."""
        return iter((self.train, self.val, self.test))

    def index(self, part: str) -> torch.Tensor:
        """Node indices of ``part`` (``'train'``, ``'val'`` or ``'test'``)."""
        return getattr(self, part).nonzero().view(-1)


def as_long_edge_index(edge_index: Any) -> torch.Tensor:
    """Return ``edge_index`` as a CPU int64 tensor of shape ``[2, E]``.

    Args:
        edge_index: a tensor, NumPy array or nested sequence of node ids.

    Returns:
        The edge index (``[2, 0]`` when empty).

    Raises:
        GraphError: not convertible to a tensor, not an integer dtype, or not of shape ``[2, E]``.
    """
    if isinstance(edge_index, np.ndarray):
        edge_index = torch.from_numpy(edge_index)
    if not isinstance(edge_index, torch.Tensor):
        try:
            edge_index = torch.as_tensor(edge_index)
        except (TypeError, ValueError) as err:
            raise GraphError(f"edge_index must be a tensor of shape [2, E], got {type(edge_index).__name__}") from err
    if edge_index.numel() == 0:  # before the dtype check: an empty list ([[], []]) converts to float32
        return torch.empty(2, 0, dtype=torch.long)
    if edge_index.dtype.is_floating_point or edge_index.dtype.is_complex or edge_index.dtype == torch.bool:
        raise GraphError(f"edge_index must have an integer dtype (node ids), got {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise GraphError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    return edge_index.detach().to(device="cpu", dtype=torch.long)


def coalesce(edge_index: torch.Tensor, num_nodes: int, directed: bool) -> torch.Tensor:
    """Drop self-loops and duplicates; for undirected graphs orient every edge as u < v. Sorted by (u, v)."""
    return coalesce_weighted(edge_index, num_nodes, directed, None)[0]


def coalesce_weighted(
    edge_index: torch.Tensor, num_nodes: int, directed: bool, weight: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`coalesce`, carrying one weight per input column to one weight per stored edge.

    The columns that coalesce into one stored edge (duplicates, and both directions of an undirected edge) must
    carry the same weight; a self-loop's weight is dropped with it.
    """
    row, col = edge_index
    keep = row != col
    row, col = row[keep], col[keep]
    if not directed:
        row, col = torch.minimum(row, col), torch.maximum(row, col)
    if weight is None:
        key = torch.unique(row * num_nodes + col)  # sorted, so edges come out ordered by (row, col)
        return torch.stack([key // num_nodes, key % num_nodes]), None
    weight = weight[keep]
    key, inverse = torch.unique(row * num_nodes + col, return_inverse=True)
    low = torch.full((key.numel(),), float("inf"), dtype=weight.dtype).scatter_reduce(0, inverse, weight, "amin")
    high = torch.full((key.numel(),), -float("inf"), dtype=weight.dtype).scatter_reduce(0, inverse, weight, "amax")
    differs = low != high
    if bool(differs.any()):
        first = int(differs.nonzero()[0])
        u, v = int(key[first]) // num_nodes, int(key[first]) % num_nodes
        how = "duplicate entries" if directed else "duplicate or reverse entries"
        raise GraphError(
            f"edge_weight differs between {how} of edge ({u}, {v}): {float(low[first])} vs {float(high[first])}; "
            "an undirected edge holds one weight (symmetrise the weights, or build a directed graph)"
        )
    return torch.stack([key // num_nodes, key % num_nodes]), low


def check_num_nodes(num_nodes: Any) -> int:
    """Check a node count.

    Args:
        num_nodes: the count.

    Returns:
        It, as an int.

    Raises:
        GraphError: not an int, below 1, or above :data:`MAX_NUM_NODES`.
    """
    if not isinstance(num_nodes, (int, np.integer)) or isinstance(num_nodes, bool):
        raise GraphError(f"num_nodes must be an int, got {type(num_nodes).__name__}")
    num_nodes = int(num_nodes)
    if num_nodes <= 0:
        raise GraphError("the graph is empty: num_nodes must be at least 1")
    if num_nodes > MAX_NUM_NODES:
        raise GraphError(
            f"num_nodes={num_nodes} exceeds {MAX_NUM_NODES}: edge keys row * num_nodes + col would overflow int64"
        )
    return num_nodes


def check_edges(
    edge_index: torch.Tensor, num_nodes: int, directed: bool, weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Range-checked and coalesced edges (always a new tensor), with their coalesced weights."""
    if edge_index.numel():
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0:
            raise GraphError(f"edge_index holds a negative node index ({low})")
        if high >= num_nodes:
            raise GraphError(f"edge_index holds node index {high}, out of range for num_nodes={num_nodes}")
    return coalesce_weighted(edge_index, num_nodes, directed, weight)


def check_edge_weight(edge_weight: Any, num_columns: int) -> torch.Tensor | None:
    """``edge_weight`` as a float tensor ``[num_columns]`` of positive finite values (a copy), or None."""
    if edge_weight is None:
        return None
    if isinstance(edge_weight, np.ndarray):
        edge_weight = torch.from_numpy(edge_weight)
    if not isinstance(edge_weight, torch.Tensor):
        try:
            edge_weight = torch.as_tensor(edge_weight)
        except (TypeError, ValueError, RuntimeError) as err:
            raise GraphError(f"edge_weight must be a tensor [E], got {type(edge_weight).__name__}") from err
    if edge_weight.dim() == 2 and edge_weight.size(1) == 1:
        edge_weight = edge_weight.view(-1)
    if edge_weight.dim() != 1 or edge_weight.numel() != num_columns:
        raise GraphError(
            f"edge_weight must have shape [{num_columns}] (one per edge_index column), got {list(edge_weight.shape)}"
        )
    if edge_weight.dtype == torch.bool or edge_weight.dtype.is_complex:
        raise GraphError(f"edge_weight must hold real numbers, got dtype {edge_weight.dtype}")
    if not edge_weight.dtype.is_floating_point:
        edge_weight = edge_weight.float()
    edge_weight = edge_weight.detach().cpu()
    bad = ~torch.isfinite(edge_weight) | (edge_weight <= 0)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        raise GraphError(
            f"edge_weight must be finite and > 0 (a zero-weight edge is a missing edge), "
            f"got {float(edge_weight[first])} at column {first}"
        )
    return edge_weight.clone()


def check_rows(x: torch.Tensor | None, y: torch.Tensor | None, num_nodes: int) -> None:
    """Check that features and labels have one row per node.

    Args:
        x: the node features, or None.
        y: the labels, or None.
        num_nodes: the graph's nodes.

    Raises:
        GraphError: a row count differs from ``num_nodes``, or a label is out of range.
    """
    if x is not None and x.size(0) != num_nodes:
        raise GraphError(f"x has {x.size(0)} rows but the graph has num_nodes={num_nodes}")
    if y is not None and y.size(0) != num_nodes:
        raise GraphError(f"y has {y.size(0)} labels but the graph has num_nodes={num_nodes}")
    if y is not None and y.numel():
        top = int(y.max())
        bound = max(num_nodes, MAX_LABEL_FLOOR)
        if top >= bound:
            raise GraphError(
                f"y holds label {top} (max label), which would make {top + 1} classes on a graph of "
                f"{num_nodes} nodes; labels must be < max(num_nodes, {MAX_LABEL_FLOOR}) = {bound}"
            )


def _node_tensor(value: Any, name: str, shape: str) -> torch.Tensor:
    """``value`` (a tensor or numpy array) as a tensor of ``len(shape)`` dimensions, or a GraphError naming it."""
    if isinstance(value, np.ndarray):
        try:
            value = torch.from_numpy(value)
        except TypeError as err:  # object, string or other dtypes torch has no tensor for
            raise GraphError(f"{name} must be a numeric array [{shape}], got numpy dtype {value.dtype}") from err
    dims = shape.count(",") + 1
    if not isinstance(value, torch.Tensor):
        raise GraphError(f"{name} must be a tensor [{shape}], got {type(value).__name__}")
    if value.dim() != dims:
        raise GraphError(f"{name} must have shape [{shape}], got {list(value.shape)}")
    return value


def check_x(x: Any) -> torch.Tensor | None:
    """Node features ``[N, F]`` as finite float32 values owned by the graph (a copy when they shared memory).

    Features of any other real dtype (float64, numpy's default; float16; bfloat16; integers; booleans) are cast to
    float32 (:data:`FEATURE_DTYPE`), the dtype of every model's weights.

    Args:
        x: a tensor or numpy array ``[N, F]``, or None.

    Returns:
        The checked float32 features, or None when ``x`` is None.

    Raises:
        GraphError: ``x`` is not a 2-D numeric tensor, is complex, holds NaN or inf, or holds float64 values
            beyond float32's range.
    """
    if x is None:
        return None
    source = x
    x = _node_tensor(x, "x", "N, F")
    if x.dtype.is_complex:
        raise GraphError(f"x must hold real numbers, got dtype {x.dtype}; pass the real part (or both as columns)")
    original = x
    x = x.detach()
    if x.dtype != FEATURE_DTYPE:
        x = x.to(FEATURE_DTYPE)
    # the sum is finite for (almost) every valid x and costs one pass; the exact check only when it is not
    if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).any(1).nonzero()[0])
        if original.dtype != FEATURE_DTYPE and bool(torch.isfinite(original[bad]).all()):
            raise GraphError(
                f"x holds {original.dtype} values beyond float32's range (first at node {bad}); features are "
                "stored as float32: rescale them (e.g. standardise the columns)"
            )
        raise GraphError(f"x holds NaN or inf values (first at node {bad})")
    return _owned(x, source)


def check_y(y: Any) -> torch.Tensor | None:
    """Node labels ``[N]`` as int64 class indices (``-1`` for unlabelled) owned by the graph.

    Float labels that are all whole numbers (``2.0``) are cast to int64; any other float label is refused, never
    truncated.

    Args:
        y: a tensor or numpy array ``[N]`` of integer (or whole-number float) labels, or None.

    Returns:
        The checked labels, or None when ``y`` is None.

    Raises:
        GraphError: ``y`` is not 1-D, is boolean or complex, holds a non-integral or non-finite float, or a label
            below -1.
    """
    if y is None:
        return None
    source = y
    y = _node_tensor(y, "y", "N")
    if y.dtype == torch.bool or y.dtype.is_complex:
        raise GraphError(f"y must hold integer class labels, got dtype {y.dtype}")
    y = y.detach()
    if y.dtype.is_floating_point:
        wide = y.double()  # float16/bfloat16 hold no integer float64 cannot; exact for integers below 2^53
        # beyond 2^53 a float is a whole number whatever it meant (and would overflow int64): no label is that large
        fractional = ~torch.isfinite(wide) | (wide != wide.round()) | (wide.abs() > 2**53)
        if bool(fractional.any()):
            first = int(fractional.nonzero()[0])
            raise GraphError(
                f"y must hold integer class labels, got {y.dtype} label {float(wide[first])!r} at node {first}; "
                "labels are class indices 0..C-1 (-1 for unlabelled): map the values to classes first"
            )
    y = y.long()
    if y.numel() and int(y.min()) < -1:
        raise GraphError(f"y holds label {int(y.min())}; labels are >= 0, or -1 for unlabelled")
    return _owned(y, source)


def check_splits(splits: Mapping[str, Any], num_nodes: int) -> dict[str, Split]:
    """Check named splits: three boolean masks of ``num_nodes`` each, no node in two parts.

    Args:
        splits: split name -> (train, val, test) masks.
        num_nodes: the graph's nodes.

    Returns:
        Split name -> :class:`Split` (masks on the CPU, copied where they shared the caller's memory).

    Raises:
        GraphError: a split without three masks, a mask not boolean or of the wrong shape, or overlapping parts.
    """
    checked: dict[str, Split] = {}
    for name, split in splits.items():
        parts = tuple(split)
        if len(parts) != 3:
            raise GraphError(f"split {name!r} must have three masks (train, val, test), got {len(parts)}")
        masks = []
        for part, source in zip(("train", "val", "test"), parts):
            mask = torch.as_tensor(source)
            if mask.dtype != torch.bool:
                raise GraphError(f"split {name!r}: {part} mask must be boolean, got {mask.dtype}")
            if mask.shape != (num_nodes,):
                raise GraphError(f"split {name!r}: {part} mask has shape {list(mask.shape)}, expected [{num_nodes}]")
            masks.append(_owned(mask.detach().cpu(), source))
        # a node in two parts leaks test labels into training or model selection
        for (a, ma), (b, mb) in itertools.combinations(zip(("train", "val", "test"), masks), 2):
            both = ma & mb
            if bool(both.any()):
                raise GraphError(
                    f"split {name!r}: {a} and {b} masks overlap on {int(both.sum())} nodes "
                    f"(first: node {int(both.nonzero()[0])}); each node belongs to at most one part"
                )
        checked[str(name)] = Split(*masks)
    return checked


def check_split_labels(
    y: torch.Tensor | None, split: Split, split_name: str = "", parts: tuple[str, ...] = ("val", "test")
) -> None:
    """Refuse unlabelled nodes (``y = -1``) in the evaluation parts of a split.

    An evaluation node without a label cannot be scored: counted as wrong it would silently lower the accuracy (and
    index -1 would pick the last class's score). Unlabelled nodes outside these parts are fine (semi-supervised
    graphs have many).

    Args:
        y: node labels ``[N]``, or None (nothing to check).
        split: the split's masks.
        split_name: the split's name, for the message (empty: unnamed).
        parts: the parts to check, among ``'train'``, ``'val'`` and ``'test'``.

    Raises:
        GraphError: naming the split, the part, how many of its nodes are unlabelled and the first of them.
    """
    if y is None:
        return
    unknown = y < 0
    if not bool(unknown.any()):
        return
    where = f"split {split_name!r}" if split_name else "the split"
    for part in parts:
        bad = getattr(split, part).to(unknown.device) & unknown
        count = int(bad.sum())
        if count:
            raise GraphError(
                f"{where}: the {part} part holds {count} unlabelled node{'s' if count != 1 else ''} (y = -1, first: "
                f"node {int(bad.nonzero()[0])}); nodes that are scored must have known labels: label them or take "
                f"them out of the {part} mask"
            )


def check_edge_split(
    edge_split: Mapping[str, Mapping[str, Any]] | None, num_nodes: int
) -> dict[str, dict[str, torch.Tensor]] | None:
    """``{part: {field: tensor}}`` with copied tensors; integer ``edge*`` fields must be [k, 2] in range."""
    if edge_split is None:
        return None
    if not isinstance(edge_split, Mapping):
        raise GraphError(f"edge_split must be a mapping part -> {{field: tensor}}, got {type(edge_split).__name__}")
    checked: dict[str, dict[str, torch.Tensor]] = {}
    for part, fields in edge_split.items():
        if not isinstance(fields, Mapping):
            raise GraphError(f"edge_split[{part!r}] must be a mapping field -> tensor, got {type(fields).__name__}")
        checked[str(part)] = {}
        for field, source in fields.items():
            try:
                value = torch.from_numpy(source) if isinstance(source, np.ndarray) else torch.as_tensor(source)
            except (TypeError, ValueError, RuntimeError) as err:
                raise GraphError(f"edge_split[{part!r}][{field!r}] is not a tensor: {err}") from err
            value = _owned(value.detach().cpu(), source)
            is_edges = str(field).startswith("edge")
            if is_edges and (value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool):
                raise GraphError(f"edge_split[{part!r}][{field!r}] must hold integer node ids, got dtype {value.dtype}")
            if is_edges and value.numel():
                if value.dim() != 2 or value.size(1) != 2:
                    raise GraphError(f"edge_split[{part!r}][{field!r}] must be [k, 2], got {list(value.shape)}")
                if int(value.min()) < 0 or int(value.max()) >= num_nodes:
                    raise GraphError(
                        f"edge_split[{part!r}][{field!r}]: node index out of range for num_nodes={num_nodes}"
                    )
            checked[str(part)][str(field)] = value
    return checked
