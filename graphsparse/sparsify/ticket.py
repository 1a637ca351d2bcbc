"""A graph lottery ticket: what a GLT search finds, saved, loaded and applied.

A :class:`Ticket` holds an edge keep-mask over undirected edge ids, weight keep-masks (see
:mod:`graphsparse.sparsify.weights` for which parameters count), the initial weights θ0 the ticket is rewound
to, and a provenance dict (method, dataset, seed, graph_sparsity, weight_sparsity, ...). Saved files hold
only tensors, dicts, strings and numbers, so they load with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.diskview import DiskGLTGraph
from ..data.edgemask import PackedEdgeMask
from ..graph import Graph, GraphError
from .weights import apply_weight_masks, check_masks

__all__ = ["Ticket", "save_atomic"]

_FORMAT = "graphsparse.ticket"
_VERSION = 2  # 2: the edge mask bit-packed (one bit per undirected edge); version 1 files (bool) still load
_BITORDER = "little"
_PROVENANCE_TYPES = (str, int, float, bool, type(None))


def _unpacked(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A version-2 payload with its bit-packed edge mask as the boolean ``edge_keep_mask`` of version 1."""
    from ..validation import FileProblem

    missing = [k for k in ("edge_keep_bits", "num_edges") if k not in payload]
    if missing:
        raise FileProblem(f"{name}: ticket file lacks fields {', '.join(missing)}")
    bits, count = payload.pop("edge_keep_bits"), payload.pop("num_edges")
    if not isinstance(bits, torch.Tensor) or bits.dtype != torch.uint8 or bits.dim() != 1:
        raise FileProblem(f"{name}: edge_keep_bits must be a uint8 vector (the packed edge mask)")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0 or bits.numel() != (count + 7) // 8:
        raise FileProblem(f"{name}: num_edges {count!r} does not fit {bits.numel()} bytes of edge_keep_bits")
    mask = np.unpackbits(bits.numpy(), count=count, bitorder=_BITORDER).astype(bool)
    return {**payload, "edge_keep_mask": torch.from_numpy(mask)}


def _check_structure(name: str, payload: dict[str, Any]) -> None:
    """Check that the fields of a loaded ticket file have the types :meth:`Ticket.save` writes.

    Every weight mask must also match the shape of its parameter in θ0 (a FileProblem naming the field otherwise).
    """
    from ..validation import FileProblem

    if not isinstance(payload["edge_keep_mask"], torch.Tensor):
        raise FileProblem(f"{name}: edge_keep_mask must be a tensor, got {type(payload['edge_keep_mask']).__name__}")
    for field_name in ("weight_masks", "init_state"):
        value = payload[field_name]
        if not isinstance(value, dict):
            raise FileProblem(f"{name}: {field_name} must be a dict of tensors, got {type(value).__name__}")
        for key, tensor in value.items():
            if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
                raise FileProblem(f"{name}: {field_name}[{key!r}] must be a tensor under a string name")
    mask = payload["edge_keep_mask"]
    masks = [("edge_keep_mask", mask), *((f"weight_masks[{k!r}]", m) for k, m in payload["weight_masks"].items())]
    for where, m in masks:  # a bool tensor whose bytes are not 0/1 (an edited file) is no mask
        if m.dtype == torch.bool and m.numel() and int(m.view(torch.uint8).max()) > 1:
            raise FileProblem(f"{name}: {where} holds bytes other than 0 and 1: the file was damaged or edited")
    for key, value in payload["init_state"].items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise FileProblem(f"{name}: init_state[{key!r}] holds NaN or infinite values: the file was damaged")
    for key, mask in payload["weight_masks"].items():
        theta = payload["init_state"].get(key)
        if theta is None:
            raise FileProblem(f"{name}: weight mask {key!r} masks no parameter of init_state")
        if tuple(mask.shape) != tuple(theta.shape):
            raise FileProblem(
                f"{name}: weight mask {key!r} has shape {list(mask.shape)}, its parameter {list(theta.shape)}"
            )
    provenance = payload["provenance"]
    if not isinstance(provenance, dict) or not all(isinstance(k, str) for k in provenance):
        raise FileProblem(f"{name}: provenance must be a dict with string keys")


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file beside ``path``, then renamed over it: the file is whole or as it was.

    A run killed while rewriting a ticket would otherwise leave a truncated file that a resumed search, seeing it
    exist, would record as written.

    Args:
        obj: what to save.
        path: the file.
    """
    target = os.fspath(path)
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        torch.save(obj, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@dataclass
class Ticket:
    """Edge keep-mask ``[M]``, weight masks ``{name: bool}``, initial state dict θ0 and provenance."""

    edge_keep_mask: torch.Tensor
    weight_masks: dict[str, torch.Tensor]
    init_state: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the masks and provenance, and keep CPU copies (θ0 cloned) of every tensor.

        Raises:
            ValueError: a mask that is not boolean (the edge mask not a vector), or a provenance value that is not
                a str, int, float, bool or None.
        """
        mask = self.edge_keep_mask
        mask = mask.to_bool() if isinstance(mask, PackedEdgeMask) else torch.as_tensor(mask)
        if mask.dtype != torch.bool or mask.dim() != 1:
            raise ValueError(
                f"edge_keep_mask must be a boolean vector over edge ids, got {mask.dtype} {list(mask.shape)}"
            )
        self.edge_keep_mask = mask.detach().cpu()
        for name, m in self.weight_masks.items():
            if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
                raise ValueError(f"weight mask {name!r} must be a boolean tensor")
        self.weight_masks = {str(k): v.detach().cpu() for k, v in self.weight_masks.items()}
        self.init_state = {str(k): v.detach().cpu().clone() for k, v in self.init_state.items()}
        for key, value in self.provenance.items():
            if not isinstance(value, _PROVENANCE_TYPES):
                raise ValueError(
                    f"provenance[{key!r}] must be a str, int, float, bool or None (to load with weights_only=True), "
                    f"got {type(value).__name__}"
                )
        self.provenance = dict(self.provenance)

    # ------------------------------------------------------------------ facts
    @property
    def graph_sparsity(self) -> float:
        """Fraction of edges removed."""
        n = self.edge_keep_mask.numel()
        return 0.0 if n == 0 else 1.0 - int(self.edge_keep_mask.sum()) / n

    @property
    def weight_sparsity(self) -> float:
        """Fraction of masked weights removed (over the weights the masks cover)."""
        total = sum(m.numel() for m in self.weight_masks.values())
        kept = sum(int(m.sum()) for m in self.weight_masks.values())
        return 0.0 if total == 0 else 1.0 - kept / total

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ticket as a ``.pt`` file loadable with ``torch.load(path, weights_only=True)``.

        The edge mask is bit-packed (``edge_keep_bits``, one bit per undirected edge, little bit order, and
        ``num_edges``): a ticket of a 30M-edge graph holds 3.75 MB of edge bits.

        Args:
            path: the file to write.
        """
        bits = np.packbits(self.edge_keep_mask.numpy(), bitorder=_BITORDER)
        save_atomic(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "edge_keep_bits": torch.from_numpy(bits),
                "num_edges": int(self.edge_keep_mask.numel()),
                "weight_masks": dict(self.weight_masks),
                "init_state": dict(self.init_state),
                "provenance": dict(self.provenance),
            },
            os.fspath(path),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Ticket:
        """Read a ticket written by :meth:`save` (with ``weights_only=True``: no code runs on load).

        Args:
            path: the ticket file.

        Returns:
            The ticket.

        Raises:
            ValueError: (:class:`~graphsparse.validation.FileProblem`) the file is missing, empty, truncated,
                another kind of file (JSON, a pickle, ...), or its contents have the wrong structure; the message
                names the file and the field.
        """
        from ..validation import FileProblem, load_torch_file

        name = os.fspath(path)
        hint = "give a ticket.pt written by `graphsparse glt --save-tickets` or Ticket.save"
        payload = load_torch_file(name, "ticket file", hint)
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise FileProblem(f"{name} is not a graphsparse ticket file (no format={_FORMAT!r} field); {hint}")
        if payload.get("version") not in (1, _VERSION):
            raise FileProblem(
                f"{name}: unsupported ticket version {payload.get('version')!r} (this graphsparse "
                f"reads versions 1 and {_VERSION})"
            )
        if payload["version"] == _VERSION:
            payload = _unpacked(name, payload)
        missing = [k for k in ("edge_keep_mask", "weight_masks", "init_state", "provenance") if k not in payload]
        if missing:
            raise FileProblem(f"{name}: ticket file lacks fields {', '.join(missing)}")
        unknown = sorted(
            set(payload) - {"format", "version", "edge_keep_mask", "weight_masks", "init_state", "provenance"}
        )
        if unknown:
            raise FileProblem(f"{name}: ticket file has unknown fields {', '.join(map(str, unknown))}")
        _check_structure(name, payload)
        try:
            return cls(payload["edge_keep_mask"], payload["weight_masks"], payload["init_state"], payload["provenance"])
        except (ValueError, TypeError) as err:
            raise FileProblem(f"{name}: {err}") from None

    # ------------------------------------------------------------------ applying
    def apply(self, graph: Graph | Any) -> Graph | Any:
        """The graph with only the ticket's kept edges: a Graph for a Graph, a PyG ``Data`` for a ``Data``.

        A :class:`~graphsparse.graph.Graph` gives a new, smaller Graph (:meth:`Graph.keep_edges`). A
        ``torch_geometric.data.Data`` gives a shallow copy without the dropped edges
        (:func:`graphsparse.graph.convert.keep_pyg_edges`): the mask is over the edge ids of ``Graph.from_pyg(data)``,
        both directions of a dropped edge go, the other ``edge_index`` columns keep their order with their
        ``edge_weight`` / ``edge_attr``, and node and graph attributes (``x``, ``y``, masks...) are carried over.
        For a ``data`` without self-loops or repeated columns, in PyG's coalesced order or as ``Graph.to_pyg``
        writes it, ``ticket.apply(data)`` equals ``to_pyg(ticket.apply(from_pyg(data)))`` (with ``minimal=True``
        for a coalesced ``data``) attribute by attribute.

        Args:
            graph: a Graph, or a homogeneous PyG ``Data``, with the edges of the graph the ticket was found on.

        Returns:
            The pruned Graph or ``Data``.

        Raises:
            GraphError: the ticket's edge mask does not match the graph's number of edges (a different graph).
        """
        if isinstance(graph, DiskGLTGraph):  # the disk graph's view with the ticket's keep-bits
            if self.edge_keep_mask.numel() != graph.total_edges:
                raise GraphError(
                    f"ticket edge mask has {self.edge_keep_mask.numel()} entries but disk graph {graph.folder} has "
                    f"{graph.total_edges} edges; the ticket was found on a different graph"
                )
            return graph.keep_edges(PackedEdgeMask.from_bool(self.edge_keep_mask))
        if isinstance(graph, Graph):
            if self.edge_keep_mask.numel() != graph.num_edges:
                raise GraphError(
                    f"ticket edge mask has {self.edge_keep_mask.numel()} entries but graph {graph.name!r} has "
                    f"{graph.num_edges} edges; the ticket was found on a different graph"
                )
            return graph.keep_edges(self.edge_keep_mask)
        from ..graph.convert import keep_pyg_edges, pyg_edge_graph

        edges, ids = pyg_edge_graph(graph)
        if self.edge_keep_mask.numel() != edges.num_edges:
            kind = "arcs" if edges.directed else "undirected edges"
            raise GraphError(
                f"ticket edge mask has {self.edge_keep_mask.numel()} entries but the {type(graph).__name__} has "
                f"{edges.num_edges} {kind} ({ids.numel()} edge_index columns); the ticket was found on a "
                "different graph"
            )
        return keep_pyg_edges(graph, self.edge_keep_mask, edge_graph=(edges, ids))

    def apply_to_graph(self, graph: Graph | Any) -> Graph | Any:
        """The graph with only the ticket's kept edges; the same as :meth:`apply` (a PyG ``Data`` gives a ``Data``).

        Args:
            graph: a Graph, or a homogeneous PyG ``Data``.

        Returns:
            The pruned Graph or ``Data``.

        Raises:
            GraphError: the ticket's edge mask does not match the graph's number of edges (a different graph).
        """
        return self.apply(graph)

    def apply_to_model(self, model: nn.Module) -> nn.Module:
        """Load θ0 into ``model`` and zero its masked weights, in place; returns ``model``."""
        own = model.state_dict()
        missing = sorted(set(own) - set(self.init_state))
        unexpected = sorted(set(self.init_state) - set(own))
        if missing or unexpected:
            raise ValueError(
                "ticket initial state does not match the model: "
                f"missing {', '.join(missing) or 'none'}; unexpected {', '.join(unexpected) or 'none'}"
            )
        for name, value in self.init_state.items():
            if value.shape != own[name].shape:
                raise ValueError(
                    f"ticket initial state {name!r} has shape {list(value.shape)}, model has {list(own[name].shape)}"
                )
        check_masks(model, self.weight_masks)
        model.load_state_dict(self.init_state)
        apply_weight_masks(model, self.weight_masks)
        return model

    @classmethod
    def from_model(
        cls,
        edge_keep_mask: torch.Tensor | PackedEdgeMask,
        weight_masks: Mapping[str, torch.Tensor],
        init_state: Mapping[str, torch.Tensor],
        **provenance: Any,
    ) -> Ticket:
        """Build a ticket and fill ``graph_sparsity``/``weight_sparsity`` in its provenance from the masks."""
        if not isinstance(edge_keep_mask, PackedEdgeMask):
            edge_keep_mask = torch.as_tensor(edge_keep_mask)
        ticket = cls(edge_keep_mask, dict(weight_masks), dict(init_state), dict(provenance))
        ticket.provenance.setdefault("graph_sparsity", ticket.graph_sparsity)
        ticket.provenance.setdefault("weight_sparsity", ticket.weight_sparsity)
        return ticket
