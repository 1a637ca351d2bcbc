r"""Cluster-GCN's layer stack (Chiang et al., "Cluster-GCN", KDD 2019).

Each layer propagates with the diagonal-enhanced, row-normalised operator
:math:`A' = (D+I)^{-1}(A+I) + \lambda\,\mathrm{diag}((D+I)^{-1}(A+I))` and, in the authors' variant used for
deep models, concatenates the layer input before the linear map:

.. math::
    H^{(l+1)} = \sigma\big(\mathrm{LN}([A' H^{(l)} \,\|\, H^{(l)}]\, W^{(l)})\big)

(``concat=True``, ``layer_norm=True``; LayerNorm and ReLU on hidden layers only). With ``concat=False`` and
``layer_norm=False`` it is a plain GCN on :math:`A'`. The operator is built from the graph it is given, so a
Cluster-GCN batch is normalised with its own degrees, and the full graph at inference with the full degrees.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from ..sparse import SparseOperator, normalized_adjacency
from .functional import dropout_matmul
from .models import layer_dims
from .pyg_model import as_graph

__all__ = ["ClusterGCN", "diag_enhanced_adjacency"]


def diag_enhanced_adjacency(
    graph: Graph, diag_lambda: float = 0.0, edge_values: torch.Tensor | None = None, device: str | torch.device = "cpu"
) -> SparseOperator:
    """Row-normalised ``(D+I)^-1 (A+I)`` with its diagonal scaled by ``1 + λ`` (Cluster-GCN's eq. 10)."""
    if diag_lambda < 0:
        raise ValueError(f"diagonal enhancement λ must be >= 0, got {diag_lambda}")
    op = normalized_adjacency(graph, edge_values, normalization="row", device=device)
    if diag_lambda == 0:
        return op
    loops = (op.structure.edge_id < 0).to(op.values.dtype)
    return SparseOperator(op.structure, op.values * (1.0 + diag_lambda * loops), symmetric=False)


class ClusterGCN(nn.Module):
    """``num_layers`` layers of ``[A'H ‖ H] W`` (or ``A'H W``), LayerNorm + ReLU + dropout between them."""

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 3,
        dropout: float = 0.2,
        diag_lambda: float = 1.0,
        concat: bool = True,
        layer_norm: bool = True,
    ) -> None:
        """Build the layers.

        Args:
            in_channels: the node features' width.
            hidden_channels: the hidden layers' width.
            out_channels: the output width (classes).
            num_layers: the number of layers.
            dropout: the dropout probability before each layer.
            diag_lambda: the diagonal enhancement λ of :func:`diag_enhanced_adjacency` (>= 0).
            concat: each layer sees ``[A'H ‖ H]`` (True) or ``A'H``.
            layer_norm: LayerNorm between layers (else none).

        Raises:
            ValueError: ``diag_lambda`` below 0, or ``num_layers`` below 1.
        """
        super().__init__()
        if diag_lambda < 0:
            raise ValueError(f"diag_lambda must be >= 0, got {diag_lambda}")
        dims = layer_dims(in_channels, hidden_channels, out_channels, num_layers)
        width = 2 if concat else 1
        self.lins = nn.ModuleList(nn.Linear(width * a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(nn.LayerNorm(b) if layer_norm else nn.Identity() for b in dims[1:-1])
        self.dropout, self.diag_lambda, self.concat = dropout, float(diag_lambda), concat

    def reset_parameters(self) -> None:
        """Re-initialise every linear layer and LayerNorm."""
        for module in (*self.lins, *self.norms):
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the node logits.

        Args:
            graph: the graph (or a PyG ``Data``).
            x: the node features; ``graph.x`` when None.
            edge_values: optional per-edge weights of the adjacency (differentiable).

        Returns:
            The logits ``[N, out_channels]``.
        """
        graph = as_graph(graph)  # a PyG Data works too
        device = self.lins[0].weight.device
        x = (graph.x if x is None else x).to(device)
        adj = diag_enhanced_adjacency(graph, self.diag_lambda, edge_values, device=device)
        for i, lin in enumerate(self.lins):
            h = adj @ x
            if self.concat:
                h = torch.cat([h, x], dim=1)
            x = dropout_matmul(h, lin.weight.t(), self.dropout, self.training) + lin.bias
            if i < len(self.lins) - 1:
                x = F.relu(self.norms[i](x))
        return x
