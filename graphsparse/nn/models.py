"""Whole models that take a :class:`~graphsparse.graph.Graph`: GCN, MLP and wrapped PyG backbones."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from .gcn_conv import SparseGCNConv, gcn_normalized_operator
from .pyg_model import as_graph

__all__ = ["GCN", "MLP", "PyGBackbone", "layer_dims"]


def layer_dims(in_channels: int, hidden_channels: int, out_channels: int, num_layers: int) -> list[int]:
    """Widths ``[in, hidden, ..., hidden, out]`` of a ``num_layers`` stack."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    return [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]


class GCN(nn.Module):
    """Kipf & Welling's GCN: ``num_layers`` SparseGCNConv layers, ReLU and dropout between them."""

    def __init__(
        self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2, dropout: float = 0.5
    ) -> None:
        """Build the layers.

        Args:
            in_channels: the node features' width.
            hidden_channels: the hidden layers' width.
            out_channels: the output width (classes).
            num_layers: the number of SparseGCNConv layers.
            dropout: the dropout probability on each layer's input (training mode only).

        Raises:
            ValueError: ``num_layers`` below 1.
        """
        super().__init__()
        dims = layer_dims(in_channels, hidden_channels, out_channels, num_layers)
        self.convs = nn.ModuleList(SparseGCNConv(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for conv in self.convs:
            conv.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the node logits.

        Args:
            graph: the graph (or a PyG ``Data``).
            x: the node features; ``graph.x`` (as a CSR tensor when large and sparse) when None.
            edge_values: optional per-edge weights of the adjacency (differentiable).

        Returns:
            The logits ``[N, out_channels]``.
        """
        graph = as_graph(graph)  # a PyG Data works too
        if x is None:
            sparse_x = graph.sparse_x()
            x = graph.x if sparse_x is None else sparse_x
        x = x.to(self.convs[0].weight.device)
        adj = gcn_normalized_operator(graph, edge_values, device=x.device)
        for i, conv in enumerate(self.convs):
            x = conv(x, adj, dropout=self.dropout)  # dropout on the layer's input, fused with its product
            if i < len(self.convs) - 1:
                x = F.relu(x, inplace=True)  # on the layer's fresh output, which no backward needs before the ReLU
        return x


class MLP(nn.Module):
    """A graph-blind multilayer perceptron, the baseline every GNN must beat."""

    def __init__(
        self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2, dropout: float = 0.5
    ) -> None:
        """Build the layers.

        Args:
            in_channels: the node features' width.
            hidden_channels: the hidden layers' width.
            out_channels: the output width (classes).
            num_layers: the number of linear layers.
            dropout: the dropout probability on each layer's input (training mode only).

        Raises:
            ValueError: ``num_layers`` below 1.
        """
        super().__init__()
        dims = layer_dims(in_channels, hidden_channels, out_channels, num_layers)
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for lin in self.lins:
            lin.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the node logits from the features alone.

        Args:
            graph: the graph (or a PyG ``Data``); only its features are read.
            x: the node features; ``graph.x`` when None.
            edge_values: ignored (the interface of every model).

        Returns:
            The logits ``[N, out_channels]``.
        """
        graph = as_graph(graph)  # a PyG Data works too
        x = (graph.x if x is None else x).to(self.lins[0].weight.device)
        for i, lin in enumerate(self.lins):
            x = lin(F.dropout(x, self.dropout, self.training))
            if i < len(self.lins) - 1:
                x = F.relu(x)
        return x


def _scale_messages(module: nn.Module, inputs: tuple, out: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Message hook: multiply message e by ``scale[e]``.

    Messages past ``len(scale)`` (self-loops a layer appends, e.g. GATConv's) are left as they are.
    """
    weight = torch.cat([scale, scale.new_ones(out.size(0) - scale.numel())]) if out.size(0) > scale.numel() else scale
    return out * weight.view(-1, *([1] * (out.dim() - 1)))


class PyGBackbone(nn.Module):
    """PyG's GAT, GIN or GraphSAGE stack behind graphsparse's model interface.

    ``edge_values`` (per edge id): edges whose value is exactly zero are removed (a pruned edge is gone, not
    masked in GAT's attention logits); the other edges' messages are scaled by their value (for GAT after the
    attention softmax, self-loops unscaled), so a soft mask such as UGS's gets gradients.
    """

    def __init__(
        self,
        kind: str,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        dropout: float = 0.5,
        heads: int = 8,
    ) -> None:
        """Build the PyG layers.

        Args:
            kind: ``"gat"``, ``"gin"`` or ``"sage"``.
            in_channels: the node features' width.
            hidden_channels: the hidden layers' width (per head for GAT).
            out_channels: the output width (classes).
            num_layers: the number of layers.
            dropout: the dropout probability (GAT's attention dropout too).
            heads: GAT's attention heads in the hidden layers (the last layer has one).

        Raises:
            ValueError: an unknown ``kind``, or ``num_layers`` below 1.
        """
        super().__init__()
        from torch_geometric.nn import GATConv, GINConv, SAGEConv

        self.kind, self.dropout = kind, dropout
        self.convs = nn.ModuleList()
        dims = layer_dims(in_channels, hidden_channels, out_channels, num_layers)
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == num_layers - 1
            if kind == "gat":
                in_dim = a if i == 0 else a * heads
                self.convs.append(GATConv(in_dim, b, heads=1 if last else heads, concat=not last, dropout=dropout))
            elif kind == "gin":
                mlp = nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, b))
                self.convs.append(GINConv(mlp, train_eps=True))
            elif kind == "sage":
                self.convs.append(SAGEConv(a, b))
            else:
                raise ValueError(f"unknown PyG backbone {kind!r}: use 'gat', 'gin' or 'sage'")

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for conv in self.convs:
            conv.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the node logits.

        Args:
            graph: the graph (or a PyG ``Data``).
            x: the node features; ``graph.x`` when None.
            edge_values: optional per-edge values: zero removes an edge, others scale its messages.

        Returns:
            The logits ``[N, out_channels]``.
        """
        graph = as_graph(graph)  # a PyG Data works too
        device = next(self.parameters()).device
        x = (graph.x if x is None else x).to(device)
        edge_index = graph.edge_index.to(device)
        scale = None
        if edge_values is not None:
            values = edge_values.to(device)[graph.directed_edge_ids.to(device)]
            keep = values != 0
            edge_index, values = edge_index[:, keep], values[keep]
            if values.requires_grad or not bool((values == 1).all()):
                scale = values
        for i, conv in enumerate(self.convs):
            x = F.dropout(x, self.dropout, self.training)
            if scale is None:
                x = conv(x, edge_index)
            else:
                handle = conv.register_message_forward_hook(functools.partial(_scale_messages, scale=scale))
                try:
                    x = conv(x, edge_index)
                finally:
                    handle.remove()
            if i < len(self.convs) - 1:
                x = F.elu(x) if self.kind == "gat" else F.relu(x)
        return x
