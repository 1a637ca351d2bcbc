"""The tuning graph: the dataset with its test labels taken out, so an objective cannot read them by mistake.

:func:`tuning_graph` returns a copy of the graph holding one split only (the one the study tunes on, under the
same name) whose test mask is empty, and whose labels are ``-1`` (the Graph's "unlabelled") on every node outside
that split's training and validation nodes — the test nodes and any node of no part. Edges and features are
unchanged (they are inputs at test time too: transductive node classification sees the whole graph). The
number of classes is read from the labels that remain.
"""

from __future__ import annotations

import torch

from ..graph import Graph, GraphError

__all__ = ["UNLABELLED", "tuning_graph", "tuning_split_name"]

UNLABELLED = -1


def tuning_split_name(graph: Graph, split: str | None = None) -> str:
    """The split a study tunes and tests on.

    It is ``split`` if given, else ``'public'`` when the graph has it, else its first split.
    """
    names = list(graph.splits)
    if not names:
        raise GraphError(f"graph {graph.name!r} has no splits: tuning needs validation nodes to select on")
    if split is not None:
        graph.split(split)  # a clear error naming the known splits
        return split
    return "public" if "public" in names else names[0]


def tuning_graph(graph: Graph, split: str | None = None) -> Graph:
    """``graph`` without test labels.

    Only ``split`` is kept (see :func:`tuning_split_name`), its test mask emptied, and every label outside its
    training and validation nodes replaced by ``-1``.
    """
    if graph.y is None:
        raise GraphError(f"graph {graph.name!r} has no labels y: there is nothing to tune on")
    name = tuning_split_name(graph, split)
    parts = graph.split(name)
    if not bool(parts.val.any()):
        raise GraphError(f"graph {graph.name!r}, split {name!r}: no validation nodes, so nothing to select on")
    known = parts.train | parts.val
    y = torch.where(known, graph.y, torch.full_like(graph.y, UNLABELLED))
    empty = torch.zeros_like(parts.test)
    return graph.replace(y=y, splits={name: (parts.train, parts.val, empty)}, name=graph.name)
