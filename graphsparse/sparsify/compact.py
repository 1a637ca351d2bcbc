r"""Turn a sparse GCN ticket into a smaller dense model, so weight sparsity becomes seconds saved.

Masked weights in a dense matrix still cost a full dense product. A GCN layer
:math:`Z_l = \hat{A} (H_{l-1} W_l) + b_l` with a sparse :math:`W_l` has three kinds of units we can drop
exactly (eval mode, no dropout):

* an **input feature** whose row of :math:`W_1` is all zero is never read: its column of :math:`X` is skipped;
* a **hidden unit** whose row of :math:`W_{l+1}` is all zero is never used downstream: it is not computed;
* a hidden unit whose column of :math:`W_l` is all zero is the constant :math:`\mathrm{relu}(b_{l,j})` at every
  node; it is not computed either, and its contribution :math:`\mathrm{relu}(b_{l,j}) W_{l+1}[j, :]` is folded
  into a constant row added to :math:`H_l W_{l+1}` before propagation.

What remains is a chain of small dense matrices (the SpMM then runs on fewer columns) on the ticket's pruned
graph (fewer non-zeros). :func:`compact_gcn` builds it; :class:`CompactGCN` gives the same logits as the
masked model, up to float rounding.

**The compact file** (``graphsparse ticket compact``, :func:`save_compact`; read back by :func:`load_compact`) is a
``dict`` written by ``torch.save`` that loads with ``torch.load(path, weights_only=True)`` (tensors, lists, dicts,
strings and numbers only; no code runs on load):

- ``format``: ``"graphsparse.compact_gcn"``; ``version``: ``1``;
- ``feature_index``: int64 ``[F_kept]``, the input feature columns the model reads (of the graph's ``x``);
- ``weights``: a list of ``L`` float tensors, layer ``l``'s ``[in_l, out_l]`` with ``in_0 = F_kept``,
  ``in_l = out_{l-1}`` and ``out_{L-1}`` the number of classes;
- ``biases``: a list of ``L`` float tensors ``[out_l]``;
- ``offsets``: a list of ``L`` float tensors: ``[out_l]``, the folded constant hidden units of layer ``l - 1``
  added to ``H_{l-1} W_l`` before propagation, or empty (``numel() == 0``) where there are none (always for
  ``l = 0``);
- ``edge_keep_mask``: bool ``[M]`` over the undirected edge ids of the graph the ticket was found on: the model
  runs on ``graph.keep_edges(edge_keep_mask)``;
- ``provenance``: the ticket's provenance (``dataset``, ``method``, ``seed``, sparsities...; str/int/float/bool/None
  values).

The logits are, with :math:`\hat{A}` the symmetric-normalised adjacency with self-loops of the pruned graph
(:func:`graphsparse.nn.gcn_conv.gcn_normalized_operator`) and :math:`H_0 = X[:, \text{feature\_index}]`:
:math:`H_l = \hat{A} (H_{l-1} W_l + o_l) + b_l`, with ReLU between layers (eval mode: no dropout).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..graph import Graph
from ..nn.gcn_conv import gcn_normalized_operator
from ..nn.models import GCN

__all__ = ["CompactGCN", "compact_gcn", "save_compact", "load_compact"]

_FORMAT = "graphsparse.compact_gcn"
_VERSION = 1


class CompactGCN(nn.Module):
    """Eval-only GCN over the kept units of a sparse :class:`~graphsparse.nn.GCN` (see :func:`compact_gcn`).

    Args:
        feature_index: the input feature columns read, int64 ``[F_kept]``.
        weights: layer ``l``'s weight ``[in_l, out_l]``, one per layer.
        biases: layer ``l``'s bias ``[out_l]``.
        offsets: the folded constant units added before layer ``l``'s propagation (``[out_l]``), or None.
        edge_keep_mask: the ticket's edge keep-mask (the model runs on ``graph.keep_edges(edge_keep_mask)``),
            when known (:func:`load_compact` sets it from the file).
        provenance: the ticket's provenance, when known.
    """

    def __init__(
        self,
        feature_index: torch.Tensor,
        weights: list[torch.Tensor],
        biases: list[torch.Tensor],
        offsets: list[torch.Tensor | None],
        *,
        edge_keep_mask: torch.Tensor | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        """Hold the kept weights as frozen parameters (the arguments are described in the class docstring)."""
        super().__init__()
        self.register_buffer("feature_index", feature_index)
        self.weights = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(b, requires_grad=False) for b in biases)
        self.offsets = [o for o in offsets]
        self.edge_keep_mask = edge_keep_mask
        self.provenance = dict(provenance or {})

    @property
    def widths(self) -> list[int]:
        """Kept input features, then kept units per layer."""
        return [int(self.feature_index.numel())] + [int(w.size(1)) for w in self.weights]

    def select_features(self, x: torch.Tensor) -> torch.Tensor:
        """The ticket's input: the feature columns it reads, transposed to ``[F_kept, N]`` (contiguous).

        A deployed ticket stores only these; computing them once per graph takes the column gather (and its
        poor memory access) off every inference.
        """
        return x.index_select(1, self.feature_index.to(x.device)).t().contiguous()

    @torch.no_grad()
    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, features_t: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits ``[N, C]``; ``features_t`` (from :meth:`select_features`) skips the feature selection."""
        if features_t is None:
            features_t = self.select_features(graph.x if x is None else x)
        adj = gcn_normalized_operator(graph, device=features_t.device)
        last = len(self.weights) - 1
        h = features_t
        for i, (weight, bias, offset) in enumerate(zip(self.weights, self.biases, self.offsets)):
            # [F, N] layout for the first product: a thin weight times a wide matrix is a fast GEMM shape
            h = (weight.t() @ h).t().contiguous() if i == 0 else h @ weight
            if offset is not None:
                h = h + offset.to(h.device)  # constant hidden units of the previous layer, folded in
            h = adj @ h + bias
            if i < last:
                h = torch.relu(h)
        return h


@torch.no_grad()
def compact_gcn(model: GCN) -> CompactGCN:
    """The smallest dense :class:`CompactGCN` computing ``model``'s eval-mode logits (zeros taken as pruned)."""
    if not isinstance(model, GCN):
        raise TypeError(f"compact_gcn takes a graphsparse GCN, got {type(model).__name__}")
    weights = [conv.weight.detach() for conv in model.convs]
    biases = [
        conv.bias.detach() if conv.bias is not None else torch.zeros(conv.out_channels, device=conv.weight.device)
        for conv in model.convs
    ]
    layers = len(weights)
    # keep[l]: output units of layer l that are computed; the last layer keeps every class
    keep: list[torch.Tensor] = [torch.ones(0, dtype=torch.bool)] * layers
    keep[-1] = torch.ones(weights[-1].size(1), dtype=torch.bool, device=weights[-1].device)
    constant: list[torch.Tensor] = [torch.zeros(0, dtype=torch.bool)] * layers
    constant[-1] = torch.zeros_like(keep[-1])
    for i in range(layers - 2, -1, -1):
        used_downstream = weights[i + 1].ne(0).any(1)  # read by the next layer
        has_inputs = weights[i].ne(0).any(0)
        keep[i] = used_downstream & has_inputs
        constant[i] = used_downstream & ~has_inputs
    feature_used = weights[0].ne(0).any(1)
    feature_index = feature_used.nonzero().flatten()

    compact_w, compact_b, offsets = [], [], []
    previous_keep = feature_used
    for i in range(layers):
        w = weights[i][previous_keep][:, keep[i]].clone()
        offset = None
        if i > 0 and bool(constant[i - 1].any()):
            levels = torch.relu(biases[i - 1][constant[i - 1]])
            offset = (levels @ weights[i][constant[i - 1]])[keep[i]]
        compact_w.append(w)
        compact_b.append(biases[i][keep[i]].clone())
        offsets.append(offset)
        previous_keep = keep[i]
    return CompactGCN(feature_index, compact_w, compact_b, offsets)


def save_compact(
    compact: CompactGCN,
    path: str | os.PathLike[str],
    *,
    edge_keep_mask: torch.Tensor | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> None:
    """Write ``compact`` as a compact file (the format in the module docstring), as ``ticket compact`` does.

    Args:
        compact: the model (from :func:`compact_gcn` or :func:`load_compact`).
        path: the file to write.
        edge_keep_mask: the ticket's edge keep-mask (default: ``compact.edge_keep_mask``; an empty mask if none).
        provenance: the ticket's provenance (default: ``compact.provenance``).

    Raises:
        TypeError: ``compact`` is not a :class:`CompactGCN`.
    """
    if not isinstance(compact, CompactGCN):
        raise TypeError(f"save_compact takes a CompactGCN (from compact_gcn), got {type(compact).__name__}")
    mask = edge_keep_mask if edge_keep_mask is not None else compact.edge_keep_mask
    payload = {
        "format": _FORMAT,
        "version": _VERSION,
        "feature_index": compact.feature_index.detach().cpu().clone(),
        "weights": [w.detach().cpu().clone() for w in compact.weights],
        "biases": [b.detach().cpu().clone() for b in compact.biases],
        "offsets": [torch.empty(0) if o is None else o.detach().cpu().clone() for o in compact.offsets],
        "edge_keep_mask": torch.zeros(0, dtype=torch.bool) if mask is None else torch.as_tensor(mask).cpu().clone(),
        "provenance": dict(provenance if provenance is not None else compact.provenance),
    }
    torch.save(payload, os.fspath(path))


def load_compact(path: str | os.PathLike[str]) -> CompactGCN:
    """Read a compact file (``graphsparse ticket compact``, :func:`save_compact`) back into a module.

    The module computes the compacted model's logits: ``module(graph)`` on the ticket's pruned graph
    (``full_graph.keep_edges(module.edge_keep_mask)``, or ``Ticket.apply``), with the node features prepared as the
    run that trained it prepared them (e.g. row-normalised under the paper preset). It is eval-only (no gradients,
    no dropout). ``module.edge_keep_mask`` and ``module.provenance`` hold the file's. The file's layout is in this
    module's docstring; it is read with ``torch.load(weights_only=True)``, so no code runs on load.

    Args:
        path: the compact file.

    Returns:
        The :class:`CompactGCN`, on CPU.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a compact file, an unsupported version, a field missing, or shapes that do not chain.
    """
    where = os.fspath(path)
    if not os.path.isfile(where):
        raise FileNotFoundError(f"compact file {where} not found")
    from ..validation import FileProblem, load_torch_file

    try:  # one loader for every file a user hands in: empty, truncated, JSON, pickles, crafted archives named
        payload = load_torch_file(where, "file", "write one with `graphsparse ticket compact`")
    except FileProblem as err:
        raise FileProblem(f"{where} is not a compact GCN file: it {str(err).split(f'file {where} ', 1)[-1]}") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{where} is not a compact GCN file (no format={_FORMAT!r} field)")
    if payload.get("version") != _VERSION:
        raise ValueError(f"{where}: unsupported compact GCN version {payload.get('version')!r} (this reads {_VERSION})")
    missing = [k for k in ("feature_index", "weights", "biases", "offsets") if k not in payload]
    if missing:
        raise ValueError(f"{where}: compact GCN file lacks fields {', '.join(missing)}")
    feature_index, weights, biases, offsets = (payload[k] for k in ("feature_index", "weights", "biases", "offsets"))
    if not isinstance(feature_index, torch.Tensor) or feature_index.dim() != 1 or feature_index.is_floating_point():
        raise ValueError(f"{where}: feature_index must be an integer vector")
    if not all(isinstance(v, (list, tuple)) for v in (weights, biases, offsets)):
        raise ValueError(f"{where}: weights, biases and offsets must be lists of tensors")
    if not weights or not len(weights) == len(biases) == len(offsets):
        raise ValueError(
            f"{where}: weights, biases and offsets must be lists of one tensor per layer (at least one), got "
            f"{len(weights)}, {len(biases)} and {len(offsets)}"
        )
    width = feature_index.numel()
    for i, (w, b, o) in enumerate(zip(weights, biases, offsets)):
        if not all(isinstance(t, torch.Tensor) for t in (w, b, o)):
            raise ValueError(f"{where}: layer {i}'s weight, bias and offset must be tensors")
        if w.dim() != 2 or w.size(0) != width:
            raise ValueError(f"{where}: layer {i}'s weight has shape {list(w.shape)}, expected [{width}, out]")
        width = w.size(1)
        if b.shape != (width,):
            raise ValueError(f"{where}: layer {i}'s bias has shape {list(b.shape)}, expected [{width}]")
        if o.numel() and (i == 0 or o.shape != (width,)):
            raise ValueError(
                f"{where}: layer {i}'s offset has shape {list(o.shape)}, expected "
                + ("none (empty) for the first layer" if i == 0 else f"[{width}] or empty")
            )
    mask = payload.get("edge_keep_mask")
    if mask is not None and (not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 1):
        raise ValueError(f"{where}: edge_keep_mask must be a boolean vector over edge ids")
    provenance = payload.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise ValueError(f"{where}: provenance must be a dict, got {type(provenance).__name__}")
    return CompactGCN(
        feature_index.long(),
        list(weights),
        list(biases),
        [o if o.numel() else None for o in offsets],
        edge_keep_mask=mask if mask is not None and mask.numel() else None,
        provenance=provenance,
    ).eval()
