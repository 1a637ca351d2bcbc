"""Graph convolution of Kipf & Welling on graphsparse's cached CSR operator.

The names are our own on purpose: :class:`SparseGCNConv` and :func:`gcn_normalized_operator` compute what PyG's
``torch_geometric.nn.GCNConv`` and ``torch_geometric.nn.conv.gcn_conv.gcn_norm`` compute, but take a normalised
operator / a :class:`~graphsparse.graph.Graph` instead of ``edge_index`` — they are not drop-in replacements.
PyG's own layers and models run through :class:`graphsparse.nn.PyGModel`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..graph import Graph
from ..sparse import SparseOperator, normalized_adjacency
from .functional import dropout as fast_dropout
from .functional import dropout_matmul, sparse_dropout_matmul

__all__ = ["gcn_normalized_operator", "SparseGCNConv"]


def gcn_normalized_operator(
    graph: Graph, edge_values: torch.Tensor | None = None, device: torch.device | str = "cpu"
) -> SparseOperator:
    r"""The GCN propagation matrix :math:`\hat{D}^{-1/2}(A + I)\hat{D}^{-1/2}`, optionally edge-weighted.

    Without ``edge_values`` it is built once per graph and cached; with them it is differentiable in them.
    Unlike PyG's ``gcn_norm(edge_index, edge_weight, num_nodes, ...)``, which returns normalised
    ``(edge_index, edge_weight)``, it takes a :class:`~graphsparse.graph.Graph` (and values per undirected edge)
    and returns one :class:`~graphsparse.sparse.SparseOperator` to multiply with.
    """
    return normalized_adjacency(graph, edge_values, normalization="sym", self_loops=True, device=device)


class SparseGCNConv(nn.Module):
    r"""Graph convolution from Kipf & Welling.

    From "Semi-Supervised Classification with Graph Convolutional Networks" (ICLR 2017):

    .. math::
        X' = \hat{D}^{-1/2} (A + I) \hat{D}^{-1/2} X W + b

    The dense product runs first when it shrinks the features (fewer columns to propagate), else last.
    ``dropout`` (applied to :math:`X` in training mode) is fused with that product when it runs first
    (:func:`~graphsparse.nn.functional.dropout_matmul`): on large inputs dropout costs more than the product.

    Not PyG's ``GCNConv``: the weights and the Glorot initialisation are the same, but ``forward(x, adj,
    dropout=0.0)`` takes the normalised operator (:func:`gcn_normalized_operator`) rather than
    ``(x, edge_index, edge_weight=None)``, and there are no ``cached``/``normalize``/``add_self_loops`` options
    (the operator is cached on the graph).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        """Create the weights and initialise them (:meth:`reset_parameters`).

        Args:
            in_channels: the input features' width.
            out_channels: the output width.
            bias: add a learnable bias.
        """
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and a zero bias."""
        # Glorot uniform, as in the paper and PyG
        bound = math.sqrt(6.0 / (self.in_channels + self.out_channels))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, adj: SparseOperator, dropout: float = 0.0) -> torch.Tensor:
        """Apply the convolution.

        Args:
            x: node features ``[N, in_channels]`` (dense, or a CSR tensor).
            adj: the normalised operator (:func:`gcn_normalized_operator`).
            dropout: the dropout probability on ``x`` (training mode only).

        Returns:
            The output ``[N, out_channels]``.
        """
        p = dropout if self.training else 0.0
        if x.layout == torch.sparse_csr:  # large bag-of-words features (Graph.sparse_x)
            out = adj @ sparse_dropout_matmul(x, self.weight, p)
        elif self.in_channels > self.out_channels:
            out = adj @ dropout_matmul(x, self.weight, p)
        else:
            out = (adj @ fast_dropout(x, p)) @ self.weight
        # in place: ``out`` is this layer's own new tensor, which no backward saved (the products keep their
        # inputs), so the bias costs no second N x out_channels tensor
        return out if self.bias is None else out.add_(self.bias)

    def extra_repr(self) -> str:
        """The widths, as ``in_channels, out_channels``."""
        return f"{self.in_channels}, {self.out_channels}"
