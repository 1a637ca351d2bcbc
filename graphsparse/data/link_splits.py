"""Leak-free edge splits for link prediction, over undirected edge ids.

:func:`split_edges` permutes the undirected edge ids of a graph with a seeded generator and cuts them into
train / validation / test (default 85 / 5 / 10, as in Kipf & Welling's GAE experiments). The message-passing graph
of the split, ``LinkSplit.train_graph``, is ``graph.keep_edges(train ids)``: validation and test edges are really
gone from it, in both directions. Negatives for validation and test are drawn uniformly among the *true non-edges*
of the full graph (never an edge of any part, never a self-loop, no duplicates, and disjoint between validation and
test), ``neg_ratio`` per positive; negative ``j`` of positive ``i`` is column ``i * neg_ratio + j``, so ranking
metrics (MRR) can group them.

:func:`sample_non_edges` does the rejection sampling without an N×N matrix: pairs are drawn in batches, keyed as
``u * N + v`` (``u < v``) and tested against the sorted keys of the true edges with a binary search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..graph import Graph, GraphError

__all__ = ["LinkSplit", "split_edges", "sample_non_edges", "edge_keys", "link_split_from_ogb"]


@dataclass(frozen=True)
class LinkSplit:
    """One edge split. Edge tensors are ``[2, k]`` with ``u < v`` (one column per undirected pair)."""

    graph: Graph  # the full graph
    train_graph: Graph  # message passing: training edges only
    train_pos: torch.Tensor
    val_pos: torch.Tensor
    val_neg: torch.Tensor
    test_pos: torch.Tensor
    test_neg: torch.Tensor
    seed: int | None = None

    @property
    def neg_ratio(self) -> int:
        """Negatives per positive in the validation/test sets (1 when they do not divide evenly)."""
        p, n = self.test_pos.size(1), self.test_neg.size(1)
        return n // p if p and n % p == 0 and n >= p else 1


def edge_keys(edges: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Sorted unique ``min(u, v) * N + max(u, v)`` keys of an edge list ``[2, k]`` (int64 numpy)."""
    e = edges.cpu().numpy().astype(np.int64, copy=False)
    lo, hi = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    return np.unique(lo * num_nodes + hi)


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, keys).clip(max=sorted_keys.size - 1)
    return sorted_keys[pos] == keys


def sample_non_edges(
    num_nodes: int, forbidden_keys: np.ndarray, count: int, generator: torch.Generator
) -> torch.Tensor:
    """``count`` distinct pairs ``u < v`` (``[2, count]``) whose key is not in ``forbidden_keys`` (sorted).

    Uniform over the allowed pairs; deterministic for a given generator state. Raises ``GraphError`` when fewer
    than ``count`` allowed pairs exist.
    """
    if count < 0:
        raise ValueError(f"number of negatives must be >= 0, got {count}")
    free = num_nodes * (num_nodes - 1) // 2 - int(forbidden_keys.size)
    if count > free:
        raise GraphError(f"cannot sample {count} non-edges: the graph has only {free} node pairs that are not edges")
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < count:
        want = count - chosen.size
        draw = torch.randint(0, num_nodes, (2, 2 * want + 64), generator=generator).numpy()
        lo, hi = np.minimum(draw[0], draw[1]), np.maximum(draw[0], draw[1])
        keys = (lo * num_nodes + hi)[lo != hi]
        keys = keys[~_contains(forbidden_keys, keys)]
        keys = keys[~np.isin(keys, chosen)]
        _, first = np.unique(keys, return_index=True)  # keep draw order among the new distinct keys
        chosen = np.concatenate([chosen, keys[np.sort(first)][:want]])
    return torch.from_numpy(np.stack([chosen // num_nodes, chosen % num_nodes]))


def _check_fraction(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value}")
    return value


def split_edges(
    graph: Graph,
    val_fraction: float = 0.05,
    test_fraction: float = 0.10,
    seed: int = 0,
    neg_ratio: int = 1,
) -> LinkSplit:
    """Split ``graph``'s undirected edges into train/val/test with sampled non-edge negatives (see module doc).

    ``floor(fraction · M)`` edges go to validation and to test; the rest train. The same seed gives the same split.
    """
    if graph.directed:
        raise GraphError(f"link splits need an undirected graph; {graph.name!r} is directed")
    val_fraction = _check_fraction(val_fraction, "val_fraction")
    test_fraction = _check_fraction(test_fraction, "test_fraction")
    if int(neg_ratio) != neg_ratio or neg_ratio < 1:
        raise ValueError(f"neg_ratio (negatives per positive) must be an integer >= 1, got {neg_ratio}")
    m = graph.num_edges
    if m == 0:
        raise GraphError(f"graph {graph.name!r} has no edges to split for link prediction")
    n_val, n_test = int(val_fraction * m), int(test_fraction * m)
    if val_fraction > 0 and n_val == 0 or test_fraction > 0 and n_test == 0:
        raise GraphError(
            f"graph {graph.name!r} has {m} edges: too few for val_fraction={val_fraction}, "
            f"test_fraction={test_fraction} (each held-out set would be empty)"
        )
    if n_val + n_test >= m:
        raise GraphError(
            f"graph {graph.name!r} has {m} edges; {n_val} validation + {n_test} test edges leave none to train on"
        )
    generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(m, generator=generator)
    val_ids, test_ids, train_ids = perm[:n_val], perm[n_val : n_val + n_test], perm[n_val + n_test :]
    keep = torch.zeros(m, dtype=torch.bool)
    keep[train_ids] = True
    train_graph = graph.keep_edges(keep)
    edges = graph.edges
    negatives = sample_non_edges(
        graph.num_nodes, edge_keys(edges, graph.num_nodes), (n_val + n_test) * int(neg_ratio), generator
    )
    k = n_val * int(neg_ratio)
    return LinkSplit(
        graph=graph,
        train_graph=train_graph,
        train_pos=train_graph.edges,
        val_pos=edges[:, val_ids],
        val_neg=negatives[:, :k],
        test_pos=edges[:, test_ids],
        test_neg=negatives[:, k:],
        seed=int(seed),
    )


def link_split_from_ogb(graph: Graph, edge_split: dict) -> LinkSplit:
    """A :class:`LinkSplit` from an OGB ``get_edge_split()`` dict.

    The dict is ``{'train': {'edge': [k, 2]}, 'valid': {'edge', 'edge_neg'}, 'test': {...}}``; the message-passing
    graph holds the training edges only.
    """

    def part(name: str, field: str) -> torch.Tensor:
        try:
            value = torch.as_tensor(edge_split[name][field]).long()
        except KeyError as err:
            raise GraphError(f"OGB edge split lacks {name}/{field}") from err
        if value.dim() != 2 or value.size(1) != 2:
            raise GraphError(f"OGB edge split {name}/{field} must be [k, 2], got {list(value.shape)}")
        if value.numel() and (int(value.min()) < 0 or int(value.max()) >= graph.num_nodes):
            raise GraphError(f"OGB edge split {name}/{field}: node index out of range for {graph.num_nodes} nodes")
        return value.t().contiguous()

    train = part("train", "edge")
    train_graph = graph.replace(edge_index=train)
    return LinkSplit(
        graph=graph,
        train_graph=train_graph,
        train_pos=train_graph.edges,
        val_pos=part("valid", "edge"),
        val_neg=part("valid", "edge_neg"),
        test_pos=part("test", "edge"),
        test_neg=part("test", "edge_neg"),
    )
