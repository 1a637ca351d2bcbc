r"""UGS: the unified GNN sparsification of Chen et al., "A Unified Lottery Ticket Hypothesis for Graph Neural
Networks" (ICML 2021).

A learnable soft mask :math:`m_g \in \mathbb{R}^{M}` over the *undirected edge ids* of the graph (fed to the
model as ``edge_values``, so the CSR SpMM gives its gradient: no :math:`N \times N` matrix anywhere) and one
:math:`m_\theta` per counted weight (same shape; the model runs with :math:`\theta \odot m_\theta`) are trained
jointly with the weights from θ0 on

.. math::
    \mathcal{L} = \mathrm{CE} + s_1 \lVert m_g \rVert_1 + s_2 \lVert m_\theta \rVert_1 .

One round: train that objective (masks start at 1 on the surviving edges/weights, 0 elsewhere and frozen there),
take the mask values at the best-validation epoch, prune the lowest-|m| edges and weights among the survivors
down to the round's targets (:math:`p_g` of the remaining edges, :math:`p_\theta` of the remaining weights,
weights ranked globally across layers), binarise, and rewind the weights to θ0. The ticket (edges really
removed with :meth:`Graph.keep_edges`, fixed binary weight masks) is then retrained from θ0 to score it.

Differences to the reference code (VITA-Group/Unified-LTH-GNN), stated plainly: masks live on undirected edge
ids, so both directions of an edge share one mask value and pruned graphs stay symmetric; our GCN renormalises
the degrees with the mask values (:func:`graphsparse.sparse.normalized_adjacency`) instead of masking an already
normalised dense adjacency. Masks start at 1 plus uniform ±1e-5 noise, as in the reference: under Adam every
mask whose cross-entropy gradient is below the l1 term moves by the same step, so without the noise thousands of
masks tie exactly and the tie-break (by position) would prune whole blocks — the first input features' weights,
the first nodes' edges. Defaults ``s1 = s2 = 1e-2`` follow the reference's Cora command.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..graph import Graph
from ..validation import check_float
from .edges import check_sparsity
from .weights import _keep_top, check_masks, prunable_parameters

__all__ = [
    "UGSMasked",
    "ugs_prune",
    "pack_mask",
    "unpack_mask",
    "ugs_l1_coefficients",
    "UGS_S1",
    "UGS_S2",
    "UGS_INIT_NOISE",
]

UGS_S1 = 1e-2
UGS_S2 = 1e-2
UGS_INIT_NOISE = 1e-5
# the reference's node-classification GCN commands (VITA-Group/Unified-LTH-GNN, NodeClassification/README.md):
# s1 = s2 = 1e-2 on Cora and CiteSeer, but s1 = 1e-6, s2 = 1e-3 on PubMed
_UGS_REFERENCE_L1 = {"pubmed": (1e-6, 1e-3)}
# the TEDDY authors' UGS baseline (hyunjin72/TEDDY, main_baseline.py) defaults to lamb_a = lamb_w = 1e-4
UGS_TEDDY_L1 = (1e-4, 1e-4)


def ugs_l1_coefficients(dataset: str, protocol: str = "ugs") -> tuple[float, float]:
    """``(s1, s2)`` of a published UGS protocol for ``dataset``.

    ``protocol="ugs"``: the UGS reference's GCN command for ``dataset`` (``(1e-2, 1e-2)`` where it gives none);
    ``protocol="teddy"``: the TEDDY paper's UGS baseline, ``(1e-4, 1e-4)`` on every dataset.
    """
    if protocol == "teddy":
        return UGS_TEDDY_L1
    if protocol != "ugs":
        raise ValueError(f"unknown UGS protocol {protocol!r}: use 'ugs' or 'teddy'")
    return _UGS_REFERENCE_L1.get(dataset.lower(), (UGS_S1, UGS_S2))


class UGSMasked(nn.Module):
    r"""``model`` with a trainable edge mask ``edge_mask`` ``[M]`` (over ``graph``'s edge ids) and one trainable
    weight mask per counted weight, frozen at 0 where ``weight_keep`` is False.

    ``forward(graph, x, edge_values)`` runs ``model`` with weights :math:`\theta \odot m_\theta \odot keep` and
    ``edge_values = edge_mask`` (times ``edge_values`` when given). :meth:`l1_penalty` is
    :math:`s_1 \lVert m_g \rVert_1 + s_2 \lVert m_\theta \rVert_1`.
    """

    def __init__(
        self,
        model: nn.Module,
        num_edges: int,
        weight_keep: Mapping[str, torch.Tensor] | None = None,
        s1: float = UGS_S1,
        s2: float = UGS_S2,
        init_noise: float = UGS_INIT_NOISE,
    ) -> None:
        super().__init__()
        if num_edges < 0:
            raise ValueError(f"num_edges must be >= 0, got {num_edges}")
        check_float("UGS s1 (l1 coefficient of the edge mask)", s1, 0.0)
        check_float("UGS s2 (l1 coefficient of the weight masks)", s2, 0.0)
        self.base = model
        self.s1, self.s2 = float(s1), float(s2)
        params = prunable_parameters(model) if weight_keep is None else check_masks(model, weight_keep)
        if weight_keep is not None and set(weight_keep) != set(prunable_parameters(model)):
            raise ValueError("UGS weight_keep must hold a mask for every counted weight of the model")
        self.weight_names = list(params)
        device = next(model.parameters()).device
        if not 0 <= init_noise < 0.5:
            raise ValueError(f"UGS init_noise must be in [0, 0.5), got {init_noise}")

        def noisy_ones(shape: torch.Size) -> torch.Tensor:  # seeded by the caller's torch RNG state
            return 1.0 + (torch.rand(shape) * 2.0 - 1.0).to(device) * init_noise

        self.edge_mask = nn.Parameter(noisy_ones(torch.Size([num_edges])))
        keeps = [
            (weight_keep[n].to(device) if weight_keep is not None else torch.ones_like(p, dtype=torch.bool))
            for n, p in params.items()
        ]
        self.weight_masks = nn.ParameterList(nn.Parameter(k.float() * noisy_ones(k.shape)) for k in keeps)
        for i, k in enumerate(keeps):
            self.register_buffer(f"weight_keep_{i}", k.clone())

    @property
    def convs(self) -> Any:  # lets train_node's first-layer weight decay see the wrapped model's layers
        return getattr(self.base, "convs", None)

    def keeps(self) -> list[torch.Tensor]:
        return [getattr(self, f"weight_keep_{i}") for i in range(len(self.weight_names))]

    def masked_weights(self) -> dict[str, torch.Tensor]:
        params = dict(self.base.named_parameters())
        return {
            n: params[n] * m * k for n, m, k in zip(self.weight_names, self.weight_masks, self.keeps(), strict=True)
        }

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        if graph.num_edges != self.edge_mask.numel():
            raise ValueError(f"UGS edge mask has {self.edge_mask.numel()} entries, graph has {graph.num_edges} edges")
        values = self.edge_mask if edge_values is None else self.edge_mask * edge_values
        return functional_call(self.base, self.masked_weights(), (graph, x), {"edge_values": values})

    def l1_penalty(self, _model: nn.Module | None = None) -> torch.Tensor:
        """``s1·|m_g|_1 + s2·|m_θ|_1`` (the argument is ignored, so it can be a ``train_node`` ``extra_loss``)."""
        weight_l1 = sum(m.abs().sum() for m in self.weight_masks)
        return self.s1 * self.edge_mask.abs().sum() + self.s2 * weight_l1


def ugs_prune(
    edge_scores: torch.Tensor,
    edge_keep: torch.Tensor,
    graph_sparsity: float,
    weight_scores: Mapping[str, torch.Tensor],
    weight_keep: Mapping[str, torch.Tensor],
    weight_sparsity: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Binarise UGS masks: keep the largest ``|score|`` among the survivors, down to the target sparsities.

    ``edge_scores``/``edge_keep`` are over the original graph's edge ids (``[M]``); the new edge mask removes
    ``round(graph_sparsity * M)`` edges in total, ``weight_sparsity`` likewise over all counted weights (global
    ranking across layers). Pruned entries stay pruned; a target below the current sparsity is an error.
    """
    graph_sparsity = check_sparsity(graph_sparsity, "graph sparsity")
    weight_sparsity = check_sparsity(weight_sparsity, "weight sparsity")
    edge_keep = torch.as_tensor(edge_keep).cpu()
    if edge_keep.dtype != torch.bool or edge_scores.shape != edge_keep.shape:
        raise ValueError(
            f"ugs_prune: edge scores {list(edge_scores.shape)} and a boolean keep-mask of the same shape are needed"
        )
    m = edge_keep.numel()
    keep_edges = m - round(graph_sparsity * m)
    if keep_edges > int(edge_keep.sum()):
        raise ValueError(f"graph sparsity target {graph_sparsity} is below the current one; targets must not decrease")
    new_edges = _keep_top(edge_scores.detach().abs().cpu().double(), edge_keep, keep_edges)
    names = list(weight_keep)
    flat_scores = torch.cat([weight_scores[n].detach().abs().reshape(-1).cpu().double() for n in names])
    flat_keep = torch.cat([weight_keep[n].reshape(-1).cpu() for n in names])
    total = flat_scores.numel()
    keep_weights = total - round(weight_sparsity * total)
    if keep_weights > int(flat_keep.sum()):
        raise ValueError(
            f"weight sparsity target {weight_sparsity} is below the current one; targets must not decrease"
        )
    flat_new = _keep_top(flat_scores, flat_keep, keep_weights)
    out, start = {}, 0
    for n in names:
        size = weight_keep[n].numel()
        out[n] = flat_new[start : start + size].view(weight_keep[n].shape)
        start += size
    return new_edges, out


def pack_mask(mask: torch.Tensor) -> dict[str, Any]:
    """A boolean tensor as JSON-able ``{"shape", "bits"}`` (bit-packed, base64)."""
    arr = np.packbits(torch.as_tensor(mask).cpu().numpy().astype(bool).reshape(-1))
    return {"shape": list(mask.shape), "bits": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack_mask(packed: Mapping[str, Any]) -> torch.Tensor:
    """Inverse of :func:`pack_mask`."""
    shape = [int(s) for s in packed["shape"]]
    n = int(np.prod(shape)) if shape else 1
    bits = np.frombuffer(base64.b64decode(packed["bits"]), dtype=np.uint8)
    return torch.from_numpy(np.unpackbits(bits)[:n].astype(bool)).view(shape)
