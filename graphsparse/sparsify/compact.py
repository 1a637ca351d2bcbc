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
"""

from __future__ import annotations

import torch
from torch import nn

from ..graph import Graph
from ..nn.gcn_conv import gcn_normalized_operator
from ..nn.models import GCN

__all__ = ["CompactGCN", "compact_gcn"]


class CompactGCN(nn.Module):
    """Eval-only GCN over the kept units of a sparse :class:`~graphsparse.nn.GCN` (see :func:`compact_gcn`)."""

    def __init__(
        self,
        feature_index: torch.Tensor,
        weights: list[torch.Tensor],
        biases: list[torch.Tensor],
        offsets: list[torch.Tensor | None],
    ) -> None:
        super().__init__()
        self.register_buffer("feature_index", feature_index)
        self.weights = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(b, requires_grad=False) for b in biases)
        self.offsets = [o for o in offsets]

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
