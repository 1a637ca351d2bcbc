"""The one graph abstraction every part of graphsparse speaks.

A :class:`Graph` is immutable after construction and validated there. An undirected graph stores each
undirected edge once (``u < v``), sorted, so edge ``k`` has id ``k``; the directed view used by message
passing holds both directions and is derived. Every edge mask, score and pruning decision is over these
undirected ids, so a pruned graph stays symmetric by construction.

Duplicate edges and self-loops in the input are coalesced away (documented, not an error): self-loops are
added back by the normalised operators in :mod:`graphsparse.sparse` where a model wants them.

**Immutability and derived caches.** The constructor copies its tensor inputs, so changing the caller's tensors
afterwards changes nothing. The tensors a Graph hands out (``x``, ``edges``, masks...) are its own storage, not
copies (properties are read every epoch); writing them in place breaks the contract, but can never leave a derived
result stale: operators derived from a graph (normalised adjacency, CSR features, TWIRLS propagations...) live in a
private cache (:class:`.derived.DerivedCache`) whose entries remember the ``_version`` counters (bumped by torch on
every in-place write) of the graph's tensors and of the cached value itself, and an entry whose counters moved is
recomputed. The library reaches that cache only through :meth:`Graph._cached` / :meth:`Graph._set_cached`.

**Conversions.** ``Graph.to_pyg`` / ``Graph.from_pyg`` and the networkx and scipy pairs delegate to
:mod:`.convert`, which builds Graphs and so imports this module; this module never imports it back (no import
circle): :mod:`.convert` registers its functions here (:func:`register_converters`) when it is imported, and
:mod:`graphsparse.graph` imports it before anyone can reach a Graph.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .checks import (
    MAX_LABEL_FLOOR,
    MAX_NUM_NODES,
    GraphError,
    Split,
    as_long_edge_index,
    check_edge_split,
    check_edge_weight,
    check_edges,
    check_num_nodes,
    check_rows,
    check_splits,
    check_x,
    check_y,
)
from .csr import quiet_csr
from .derived import DerivedCache

__all__ = [
    "Graph",
    "GraphError",
    "Split",
    "csr_select_rows",
    "register_converters",
    "SCHEMA_VERSION",
    "MAX_NUM_NODES",
    "MAX_LABEL_FLOOR",
]

# Version of what stored results mean: the layout of result keys and payloads and the format of
# Graph.fingerprint(). Stored result keys and recorded runs carry it; bump it when a change makes results stored
# before it incomparable with new ones (old entries are then recomputed, never served).
#   1: keys named the dataset only (before fingerprints)   2: keys and runs carry Graph.fingerprint()
SCHEMA_VERSION = 2

# Features are multiplied as a CSR matrix when they are large and mostly zero (bag-of-words features such as Coauthor
# Physics' 34,493 x 8,415 at 0.4% non-zero: the first layer's product drops from 2.4 s to 0.1 s). Smaller inputs keep
# the dense product, so results on Cora, CiteSeer and PubMed are those of the dense path.
SPARSE_X_MIN_ELEMENTS = 1 << 25
SPARSE_X_MAX_DENSITY = 0.05


# The conversion methods of Graph (to_pyg, from_pyg, ...) delegate to the functions of :mod:`.convert`, which builds
# Graphs and so imports this module. This module does not import it back: convert registers its functions here when
# it is imported (graphsparse.graph's __init__ imports it, so they are in place whenever Graph can be reached).
_CONVERTERS: dict[str, Callable[..., Any]] = {}


def register_converters(**functions: Callable[..., Any]) -> None:
    """Install the functions that :class:`Graph`'s conversion methods call (done by :mod:`.convert` on import).

    Args:
        **functions: name (``to_pyg``, ``from_pyg``, ``to_networkx``, ``from_networkx``, ``to_scipy``,
            ``from_scipy``) to function.
    """
    _CONVERTERS.update(functions)


def _converter(name: str) -> Callable[..., Any]:
    """The registered conversion function ``name``; a RuntimeError when :mod:`.convert` was never imported."""
    try:
        return _CONVERTERS[name]
    except KeyError:
        raise RuntimeError(f"Graph.{name}: graphsparse.graph.convert is not imported") from None


@quiet_csr()
def csr_select_rows(matrix: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Rows ``rows`` (in that order) of a CSR tensor, as a new CSR tensor."""
    crow, col, values = matrix.crow_indices(), matrix.col_indices(), matrix.values()
    starts, counts = crow[rows], crow[rows + 1] - crow[rows]
    new_crow = torch.zeros(rows.numel() + 1, dtype=crow.dtype)
    torch.cumsum(counts, 0, out=new_crow[1:])
    take = torch.repeat_interleave(starts - new_crow[:-1], counts) + torch.arange(int(new_crow[-1]))
    return torch.sparse_csr_tensor(
        new_crow, col[take], values[take], (rows.numel(), matrix.size(1)), check_invariants=False
    )


class Graph:
    """An immutable, validated graph with node features, labels, named splits and (optionally) an edge split.

    Args:
        edge_index: integer tensor ``[2, E]``; for undirected graphs either or both directions may be given.
        num_nodes: number of nodes; inferred from ``x``, ``y`` or ``edge_index`` when omitted.
        x: node features ``[N, F]`` (finite numbers) or ``None``. They are stored as float32, the dtype of every
            model's weights: float64 (numpy's default), float16, bfloat16, integer and boolean features are cast
            on construction (float64 values beyond float32's range are refused).
        y: node labels ``[N]`` (integers, ``-1`` for unlabelled) or ``None``. Float labels that are whole numbers
            are cast to int64; non-integral ones are refused (never truncated).
        splits: mapping ``name -> Split`` (or ``(train, val, test)`` boolean masks of length ``N``). The
            validation and test parts must not hold unlabelled nodes (``y = -1``), which could not be scored:
            training or evaluating on such a split is refused (:func:`graphsparse.graph.checks.check_split_labels`).
        directed: keep edge directions (no pairing); otherwise edges are undirected.
        name: a label for reports.
        edge_split: a link-prediction split shipped with the dataset, as OGB's ``get_edge_split()`` gives it:
            ``{'train': {'edge': [k, 2], ...}, 'valid': {...}, 'test': {...}}`` (tensors or arrays), or ``None``.
        edge_weight: optional positive, finite weights ``[E]``, one per column of ``edge_index`` (as PyG's
            ``edge_weight``). They are coalesced with the edges: the columns of one stored edge (duplicates, and
            both directions of an undirected edge) must carry equal weights, and the graph then holds one weight
            per edge id (:attr:`edge_weight`). Normalised operators use them when no explicit edge values are
            given. ``None`` (the default) is an unweighted graph (every weight 1).

    Every tensor input is copied (the graph never shares storage with the caller's tensors).
    """

    def __init__(
        self,
        edge_index: Any,
        num_nodes: int | None = None,
        x: torch.Tensor | None = None,
        y: torch.Tensor | None = None,
        splits: Mapping[str, Any] | None = None,
        directed: bool = False,
        name: str = "graph",
        edge_split: Mapping[str, Mapping[str, Any]] | None = None,
        edge_weight: Any = None,
    ) -> None:
        """Validate and copy the inputs (the arguments are described in the class docstring).

        Raises:
            GraphError: naming the first invalid input and its value.
        """
        with torch.inference_mode(False):  # the graph's own tensors track versions, even when built in inference mode
            edge_index = as_long_edge_index(edge_index)
            x = check_x(x)
            y = check_y(y)
            if num_nodes is None:
                candidates = [int(edge_index.max()) + 1 if edge_index.numel() else 0]
                if x is not None:
                    candidates.append(x.size(0))
                if y is not None:
                    candidates.append(y.size(0))
                num_nodes = max(candidates)
            num_nodes = check_num_nodes(num_nodes)
            directed = bool(directed)
            weight = check_edge_weight(edge_weight, edge_index.size(1))
            edges, weight = check_edges(edge_index, num_nodes, directed, weight)
            check_rows(x, y, num_nodes)
            self._set(
                num_nodes,
                directed,
                edges,
                x,
                y,
                check_splits(splits or {}, num_nodes),
                check_edge_split(edge_split, num_nodes),
                str(name),
                weight,
            )

    def _set(
        self,
        num_nodes: int,
        directed: bool,
        edges: torch.Tensor,
        x: torch.Tensor | None,
        y: torch.Tensor | None,
        splits: dict[str, Split],
        edge_split: dict[str, dict[str, torch.Tensor]] | None,
        name: str,
        edge_weight: torch.Tensor | None = None,
    ) -> None:
        self._num_nodes = num_nodes
        self._directed = directed
        self._edges = edges
        self._x = x
        self._y = y
        self._splits = splits
        self._edge_split = edge_split
        self._name = name
        self._edge_weight = edge_weight
        # the tensors every derived entry may depend on, whose versions are checked on each cache read
        primary = [edges] + [t for t in (x, y, edge_weight) if t is not None] + [m for s in splits.values() for m in s]
        if edge_split is not None:
            primary += [t for part in edge_split.values() for t in part.values()]
        self._derived = DerivedCache(tuple(primary))

    @classmethod
    def _assemble(
        cls,
        num_nodes: int,
        directed: bool,
        edges: torch.Tensor,
        x: torch.Tensor | None,
        y: torch.Tensor | None,
        splits: dict[str, Split],
        edge_split: dict[str, dict[str, torch.Tensor]] | None,
        name: str,
        edge_weight: torch.Tensor | None = None,
    ) -> Graph:
        """A Graph from parts that are already validated and owned by graphs (no copy, no checks)."""
        graph = cls.__new__(cls)
        graph._set(num_nodes, directed, edges, x, y, splits, edge_split, name, edge_weight)
        return graph

    # ----------------------------------------------------------------- derived data (private cache)
    def _cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The derived value under ``key``; ``compute()`` (and stored) when missing or stale (:mod:`.derived`)."""
        return self._derived.get(key, compute)

    def _set_cached(self, key: Any, value: Any) -> None:
        """Store a derived value computed elsewhere (e.g. a batch's rows of its parent's CSR features)."""
        self._derived.put(key, value)

    def _cached_keys(self) -> list[Any]:
        """Keys of the fresh derived entries (for tests and benchmarks)."""
        return self._derived.keys()

    def _clear_cached(self) -> None:
        """Drop every derived entry (benchmarks time cold operators with it)."""
        self._derived.clear()

    # ----------------------------------------------------------------- basic facts
    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return self._num_nodes

    @property
    def num_edges(self) -> int:
        """Number of stored edges: undirected edges for an undirected graph, arcs for a directed one."""
        return self._edges.size(1)

    @property
    def directed(self) -> bool:
        """Whether edges keep their direction (False: undirected)."""
        return self._directed

    @property
    def name(self) -> str:
        """The graph's label for reports."""
        return self._name

    @property
    def x(self) -> torch.Tensor | None:
        """Node features ``[N, F]`` (float32), or None."""
        return self._x

    @property
    def y(self) -> torch.Tensor | None:
        """Node labels ``[N]`` (int64, ``-1`` for unlabelled), or None."""
        return self._y

    @property
    def num_features(self) -> int:
        """Width of the node features (0 without features)."""
        return 0 if self._x is None else self._x.size(1)

    @property
    def num_classes(self) -> int:
        """Number of classes: the largest label + 1 (0 without labels)."""
        return 0 if self._y is None or self._y.numel() == 0 else int(self._y.max()) + 1

    @property
    def splits(self) -> dict[str, Split]:
        """The named splits (a new dict on every access)."""
        return dict(self._splits)

    def split(self, name: str | int | None = None) -> Split:
        """The split called ``name`` (an int picks by position); the first split when ``name`` is None."""
        if not self._splits:
            raise GraphError(f"graph {self._name!r} has no splits")
        if name is None:
            return next(iter(self._splits.values()))
        if isinstance(name, int):
            names = list(self._splits)
            if not 0 <= name < len(names):
                raise GraphError(f"graph {self._name!r} has {len(names)} splits, no split number {name}")
            return self._splits[names[name]]
        if name not in self._splits:
            raise GraphError(f"graph {self._name!r} has no split {name!r}; known: {', '.join(self._splits)}")
        return self._splits[name]

    @property
    def edge_weight(self) -> torch.Tensor | None:
        """One positive weight per stored edge id (``[num_edges]``), or ``None`` for an unweighted graph."""
        return self._edge_weight

    @property
    def edges(self) -> torch.Tensor:
        """Stored edges ``[2, num_edges]``; column ``k`` is edge id ``k`` (``u < v`` when undirected)."""
        return self._edges

    @property
    def edge_index(self) -> torch.Tensor:
        """Directed view ``[2, E_dir]``: both directions of each undirected edge (ids ``k`` then ``k + M``)."""
        if self._directed:
            return self._edges
        return self._cached("edge_index", lambda: torch.cat([self._edges, self._edges.flip(0)], dim=1))

    @property
    def directed_edge_ids(self) -> torch.Tensor:
        """For each column of :attr:`edge_index`, the id of the stored edge it comes from."""
        ids = torch.arange(self.num_edges)
        return ids if self._directed else torch.cat([ids, ids])

    def degree(self, direction: str = "out") -> torch.Tensor:
        """Node degrees (float) without self-loops; for directed graphs ``direction`` is 'out' or 'in'."""

        def compute() -> torch.Tensor:
            index = self.edge_index[0 if direction == "out" else 1]
            return torch.zeros(self._num_nodes).index_add_(0, index, torch.ones(index.numel()))

        return self._cached(("degree", direction), compute)

    def sparse_x(self) -> torch.Tensor | None:
        """``x`` as a CSR tensor when it is large and sparse, else ``None``; computed once.

        Large and sparse: ``>= SPARSE_X_MIN_ELEMENTS`` entries and at most ``SPARSE_X_MAX_DENSITY`` non-zero; with
        ``None`` models use the dense ``x``.
        """

        @quiet_csr()
        def compute() -> torch.Tensor | None:
            x = self._x
            if x is not None and x.numel() >= SPARSE_X_MIN_ELEMENTS:
                if int(torch.count_nonzero(x)) <= SPARSE_X_MAX_DENSITY * x.numel():
                    return x.to_sparse_csr()
            return None

        return self._cached("sparse_x", compute)

    @property
    def edge_split(self) -> dict[str, dict[str, torch.Tensor]] | None:
        """The dataset's own link-prediction split (OGB ``get_edge_split()`` layout), or ``None``."""
        if self._edge_split is None:
            return None
        return {part: dict(fields) for part, fields in self._edge_split.items()}

    def fingerprint(self) -> str:
        """sha256 (hex) of the graph's content: num_nodes, directedness, edges, x, y, splits and edge split.

        Equal content gives equal fingerprints whatever the name; stored results carry it in their keys, so a
        result computed on other data is never served. Computed once per graph (recomputed after an in-place write).
        """
        return self._cached("fingerprint", self._compute_fingerprint)

    def _compute_fingerprint(self) -> str:
        digest = hashlib.sha256()

        def tensor(label: str, t: torch.Tensor | None) -> None:
            if t is None:
                digest.update(f"{label}:none;".encode())
                return
            t = t.detach().cpu().contiguous()
            digest.update(f"{label}:{t.dtype}:{list(t.shape)};".encode())
            if t.numel():
                digest.update(memoryview(t.view(-1).view(torch.uint8).numpy()))

        header = {"format": 1, "num_nodes": self._num_nodes, "directed": self._directed}
        digest.update(json.dumps(header, sort_keys=True).encode())
        tensor("edges", self._edges)
        if self._edge_weight is not None:  # absent for unweighted graphs: their fingerprints are unchanged
            tensor("edge_weight", self._edge_weight)
        tensor("x", self._x)
        tensor("y", self._y)
        for name in sorted(self._splits):
            for part, mask in zip(("train", "val", "test"), self._splits[name]):
                tensor(f"split/{name}/{part}", mask)
        if self._edge_split is not None:
            for part in sorted(self._edge_split):
                for field in sorted(self._edge_split[part]):
                    tensor(f"edge_split/{part}/{field}", self._edge_split[part][field])
        return digest.hexdigest()

    # ----------------------------------------------------------------- new graphs from this one
    _FIELDS = ("edge_index", "num_nodes", "x", "y", "splits", "directed", "name", "edge_split", "edge_weight")

    def _carried_weight(self, edge_index: torch.Tensor, num_nodes: int, directed: bool) -> torch.Tensor | None:
        """Weights for the columns of a new ``edge_index``.

        This graph's weight where the edge is one of this graph's edges, 1 for new edges; ``None`` when this graph
        is unweighted.
        """
        if self._edge_weight is None:
            return None
        base = max(self._num_nodes, num_nodes)
        row, col = edge_index
        u, v = self._edges
        own_weight = self._edge_weight
        if not (self._directed and directed):  # an undirected side: an edge matches in either direction
            row, col = torch.minimum(row, col), torch.maximum(row, col)
            u, v = torch.minimum(u, v), torch.maximum(u, v)
        own, order = torch.sort(u * base + v)
        own_weight = own_weight[order]
        key = row * base + col
        weight = torch.ones(key.numel(), dtype=own_weight.dtype)
        if own.numel() and key.numel():
            pos = torch.searchsorted(own, key).clamp(max=own.numel() - 1)
            found = own[pos] == key
            weight[found] = own_weight[pos[found]]
        return weight

    def replace(self, **changes: Any) -> Graph:
        """A new Graph with some fields replaced; the others, the edge split included, are carried over.

        The fields: ``edge_index``, ``num_nodes``, ``x``, ``y``, ``splits``, ``directed``, ``name``, ``edge_split``,
        ``edge_weight``.

        ``edge_weight`` given with ``edge_index`` is one weight per column of it; given alone, one per stored edge
        id of this graph (``None`` drops the weights). A new ``edge_index`` without ``edge_weight`` on a weighted
        graph keeps the weight of every edge this graph has and gives new edges weight 1.

        New values are validated and copied as by the constructor; unchanged tensors are shared with this graph
        (both own them, neither copies them again). The derived cache starts empty.
        """
        unknown = set(changes) - set(self._FIELDS)
        if unknown:
            raise GraphError(f"Graph.replace got unknown fields: {', '.join(sorted(unknown))}")
        if "num_nodes" in changes or "directed" in changes:  # rare: rebuild everything through the constructor
            fields = dict(
                edge_index=self._edges,
                num_nodes=self._num_nodes,
                x=self._x,
                y=self._y,
                splits=self._splits,
                directed=self._directed,
                name=self._name,
                edge_split=self._edge_split,
                edge_weight=self._edge_weight,
            )
            if "edge_index" in changes and "edge_weight" not in changes:
                fields["edge_weight"] = self._carried_weight(
                    as_long_edge_index(changes["edge_index"]),
                    int(changes.get("num_nodes", self._num_nodes)),
                    bool(changes.get("directed", self._directed)),
                )
            fields.update(changes)
            return Graph(**fields)
        n = self._num_nodes
        with torch.inference_mode(False):
            edges, weight = self._edges, self._edge_weight
            if "edge_index" in changes:
                edge_index = as_long_edge_index(changes["edge_index"])
                if "edge_weight" in changes:
                    new_weight = check_edge_weight(changes["edge_weight"], edge_index.size(1))
                else:
                    new_weight = self._carried_weight(edge_index, n, self._directed)
                edges, weight = check_edges(edge_index, n, self._directed, new_weight)
            elif "edge_weight" in changes:
                edges, weight = check_edges(
                    self._edges, n, self._directed, check_edge_weight(changes["edge_weight"], self.num_edges)
                )
            x = check_x(changes["x"]) if "x" in changes else self._x
            y = check_y(changes["y"]) if "y" in changes else self._y
            check_rows(x, y, n)
            splits = check_splits(changes["splits"] or {}, n) if "splits" in changes else self._splits
            edge_split = check_edge_split(changes["edge_split"], n) if "edge_split" in changes else self._edge_split
        name = str(changes["name"]) if "name" in changes else self._name
        return Graph._assemble(n, self._directed, edges, x, y, dict(splits), edge_split, name, weight)

    def keep_edges(self, mask: torch.Tensor) -> Graph:
        """A new Graph holding only the stored edges where ``mask`` (over edge ids) is True."""
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool or mask.shape != (self.num_edges,):
            raise GraphError(
                f"keep_edges needs a boolean mask of shape [{self.num_edges}] over edge ids, "
                f"got {mask.dtype} {list(mask.shape)}"
            )
        # a subset of sorted, coalesced edges stays sorted and coalesced: no need to coalesce again
        mask = mask.cpu()
        edges = self._edges[:, mask]
        weight = None if self._edge_weight is None else self._edge_weight[mask]
        return Graph._assemble(
            self._num_nodes,
            self._directed,
            edges,
            self._x,
            self._y,
            dict(self._splits),
            self._edge_split,
            self._name,
            weight,
        )

    def subgraph(self, nodes: torch.Tensor) -> Graph:
        """The induced subgraph on ``nodes`` (indices or boolean mask), relabelled 0..n-1 in the given order.

        The edge split (over the original node ids) is not carried over.
        """
        nodes = torch.as_tensor(nodes)
        if nodes.dtype == torch.bool:
            if nodes.shape != (self._num_nodes,):
                raise GraphError(f"subgraph mask has shape {list(nodes.shape)}, expected [{self._num_nodes}]")
            nodes = nodes.nonzero().view(-1)
        nodes = nodes.long().view(-1)
        if nodes.numel() == 0:
            raise GraphError("subgraph needs at least one node")
        if int(nodes.min()) < 0 or int(nodes.max()) >= self._num_nodes:
            raise GraphError(f"subgraph node index out of range for num_nodes={self._num_nodes}")
        new_id = torch.full((self._num_nodes,), -1, dtype=torch.long)
        new_id[nodes] = torch.arange(nodes.numel())
        if int((new_id >= 0).sum()) != nodes.numel():
            raise GraphError("subgraph nodes contain duplicates")
        row, col = new_id[self._edges[0]], new_id[self._edges[1]]
        keep = (row >= 0) & (col >= 0)
        splits = {k: Split(*(m[nodes] for m in s)) for k, s in self._splits.items()}
        return Graph(
            torch.stack([row[keep], col[keep]]),
            num_nodes=nodes.numel(),
            x=None if self._x is None else self._x[nodes],
            y=None if self._y is None else self._y[nodes],
            splits=splits,
            directed=self._directed,
            name=self._name,
            edge_weight=None if self._edge_weight is None else self._edge_weight[keep],
        )

    # ----------------------------------------------------------------- conversions
    def default_split_name(self) -> str | None:
        """The split PyG-style code should use: ``'public'`` when the graph has one, else the first (None: none)."""
        if "public" in self._splits:
            return "public"
        return next(iter(self._splits), None)

    def _directed_weight(self) -> torch.Tensor | None:
        """:attr:`edge_weight` for the columns of :attr:`edge_index` (both directions when undirected)."""
        if self._edge_weight is None:
            return None
        return self._edge_weight if self._directed else torch.cat([self._edge_weight, self._edge_weight])

    def to_pyg(self, **options: Any) -> Any:
        """A PyTorch Geometric ``Data`` of the graph: :func:`graphsparse.graph.convert.to_pyg`.

        Args:
            **options: ``minimal=True`` (only what :meth:`from_pyg` reads), ``sort_by_row``.

        Returns:
            A ``torch_geometric.data.Data``.
        """
        return _converter("to_pyg")(self, **options)

    @classmethod
    def from_pyg(cls, data: Any, *args: Any, **kwargs: Any) -> Graph:
        """Build from a PyG ``Data``: :func:`graphsparse.graph.convert.from_pyg` (splits, weights, direction).

        Args:
            data: a ``torch_geometric.data.Data`` (or any object with its fields).
            *args: passed on to :func:`~graphsparse.graph.convert.from_pyg`.
            **kwargs: passed on to :func:`~graphsparse.graph.convert.from_pyg`.

        Returns:
            The Graph.
        """
        return _converter("from_pyg")(data, *args, **kwargs)

    def to_networkx(self, node_attrs: bool = True) -> Any:
        """A networkx graph with nodes ``0..n-1``: :func:`graphsparse.graph.convert.to_networkx`.

        Args:
            node_attrs: whether to attach ``x`` and ``y`` as node attributes.

        Returns:
            A ``networkx.Graph`` (``DiGraph`` when directed).
        """
        return _converter("to_networkx")(self, node_attrs)

    @classmethod
    def from_networkx(cls, g: Any, **kwargs: Any) -> Graph | tuple[Graph, dict[Any, int]]:
        """Build from a networkx graph (any hashable node labels): :func:`graphsparse.graph.convert.from_networkx`.

        Args:
            g: the networkx graph.
            **kwargs: passed on to :func:`~graphsparse.graph.convert.from_networkx`.

        Returns:
            The Graph (with the node-label mapping when asked for).
        """
        return _converter("from_networkx")(g, **kwargs)

    def to_scipy(self) -> Any:
        """A scipy CSR adjacency: :func:`graphsparse.graph.convert.to_scipy`.

        Returns:
            A ``scipy.sparse.csr_matrix`` of shape ``(num_nodes, num_nodes)``.
        """
        return _converter("to_scipy")(self)

    @classmethod
    def from_scipy(cls, matrix: Any, weighted: bool | None = None, **kwargs: Any) -> Graph:
        """Build from a square scipy sparse adjacency: :func:`graphsparse.graph.convert.from_scipy`.

        Args:
            matrix: the square sparse adjacency.
            weighted: keep its values as edge weights (None: when they are not all one).
            **kwargs: passed on to :func:`~graphsparse.graph.convert.from_scipy`.

        Returns:
            The Graph.
        """
        return _converter("from_scipy")(matrix, weighted, **kwargs)

    def __repr__(self) -> str:
        """One line: name, nodes, edges, features, classes, splits (and whether weighted)."""
        kind = "directed" if self._directed else "undirected"
        return (
            f"Graph(name={self._name!r}, num_nodes={self._num_nodes}, num_edges={self.num_edges} {kind}, "
            f"num_features={self.num_features}, num_classes={self.num_classes}, splits={len(self._splits)}"
            + (", weighted" if self._edge_weight is not None else "")
            + ")"
        )
