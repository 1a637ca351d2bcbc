r"""Link-prediction models: an encoder producing node embeddings and a decoder scoring node pairs.

GAE / VGAE (Kipf & Welling, "Variational Graph Auto-Encoders", NIPS BDL workshop 2016): a two-layer GCN encoder

.. math::
    Z = \hat A\,\mathrm{ReLU}(\hat A X W_0)\,W_1, \qquad \hat A = D^{-1/2}(A + I)D^{-1/2},

and the inner-product decoder :math:`p(u \sim v) = \sigma(z_u^\top z_v)`. VGAE's encoder outputs
:math:`\mu = \hat A H W_\mu` and :math:`\log\sigma = \hat A H W_\sigma` (shared first layer :math:`H`), samples
:math:`Z = \mu + \sigma \odot \epsilon` in training (:math:`\mu` in evaluation) and adds
:math:`\mathrm{KL}(q(Z) \,\|\, \mathcal N(0, I)) / N` to the loss.

Any registered node model (GCN, GraphSAGE, GAT, GIN) can be the encoder; the Hadamard-MLP decoder scores
:math:`\mathrm{MLP}(z_u \odot z_v)`. Featureless graphs get a learnable embedding table as input features.
Every model keeps graphsparse's interface ``forward(graph, x=None, edge_values=None) -> Z [N, d]`` (so edge
masks and weight masks apply as for node models); :meth:`LinkModel.score` turns embeddings into pair logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from .gcn_conv import SparseGCNConv, gcn_normalized_operator

__all__ = ["InnerProductDecoder", "HadamardMLPDecoder", "VGAEEncoder", "LinkModel", "build_link_model", "LINK_MODELS"]


class InnerProductDecoder(nn.Module):
    r"""Pair logit :math:`z_u^\top z_v` (no parameters)."""

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Score node pairs.

        Args:
            z: node embeddings ``[N, d]``.
            pairs: node pairs ``[2, P]``.

        Returns:
            The pair logits ``[P]``.
        """
        return (z[pairs[0]] * z[pairs[1]]).sum(-1)


class HadamardMLPDecoder(nn.Module):
    r"""Pair logit :math:`\mathrm{MLP}(z_u \odot z_v)` (symmetric in u, v)."""

    def __init__(self, channels: int, hidden_channels: int = 64, num_layers: int = 2, dropout: float = 0.0) -> None:
        """Build the MLP.

        Args:
            channels: the embeddings' width ``d``.
            hidden_channels: the hidden layers' width.
            num_layers: the MLP's layers (the last outputs one logit).
            dropout: the dropout probability before each layer.

        Raises:
            ValueError: ``num_layers`` below 1.
        """
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"decoder num_layers must be >= 1, got {num_layers}")
        dims = [channels] + [hidden_channels] * (num_layers - 1) + [1]
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = dropout

    def reset_parameters(self) -> None:
        """Re-initialise the MLP's layers."""
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Score node pairs.

        Args:
            z: node embeddings ``[N, d]``.
            pairs: node pairs ``[2, P]``.

        Returns:
            The pair logits ``[P]``.
        """
        h = z[pairs[0]] * z[pairs[1]]
        for i, lin in enumerate(self.lins):
            h = lin(F.dropout(h, self.dropout, self.training))
            if i < len(self.lins) - 1:
                h = F.relu(h)
        return h.squeeze(-1)


class VGAEEncoder(nn.Module):
    """VGAE's encoder: a shared GCN layer, then GCN heads for μ and log σ; ``kl`` holds the last KL term."""

    def __init__(self, in_channels: int, hidden_channels: int = 32, out_channels: int = 16) -> None:
        """Build the shared layer and the two heads.

        Args:
            in_channels: the node features' width.
            hidden_channels: the shared layer's width.
            out_channels: the embeddings' width.
        """
        super().__init__()
        self.conv = SparseGCNConv(in_channels, hidden_channels)
        self.conv_mu = SparseGCNConv(hidden_channels, out_channels)
        self.conv_logstd = SparseGCNConv(hidden_channels, out_channels)
        self.kl: torch.Tensor | None = None

    def reset_parameters(self) -> None:
        """Re-initialise the three GCN layers."""
        for conv in (self.conv, self.conv_mu, self.conv_logstd):
            conv.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embed the nodes and store the KL term in ``kl``.

        Args:
            graph: the graph.
            x: the node features; ``graph.x`` when None.
            edge_values: optional per-edge weights of the adjacency (differentiable).

        Returns:
            ``Z = μ + σ ⊙ ε`` in training, ``μ`` in evaluation (``[N, out_channels]``).
        """
        x = (graph.x if x is None else x).to(self.conv.weight.device)
        adj = gcn_normalized_operator(graph, edge_values, device=x.device)
        h = F.relu(self.conv(x, adj))
        mu = self.conv_mu(h, adj)
        logstd = self.conv_logstd(h, adj).clamp(max=10.0)  # as in PyG's VGAE: keeps exp() finite
        self.kl = -0.5 * torch.mean(torch.sum(1 + 2 * logstd - mu**2 - logstd.exp() ** 2, dim=1))
        if not self.training:
            return mu
        return mu + torch.randn_like(mu) * logstd.exp()


class LinkModel(nn.Module):
    """Encoder + decoder (+ a learnable input embedding for featureless graphs).

    ``forward(graph, x=None, edge_values=None)`` returns node embeddings; ``score(z, pairs)`` pair logits;
    ``regularization()`` VGAE's KL term divided by N (zero for other encoders).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, embedding: nn.Embedding | None = None) -> None:
        """Hold the parts.

        Args:
            encoder: ``encoder(graph, x, edge_values=...)`` returns node embeddings.
            decoder: ``decoder(z, pairs)`` returns pair logits.
            embedding: the input embedding of a featureless graph, or None.
        """
        super().__init__()
        self.encoder, self.decoder, self.embedding = encoder, decoder, embedding

    def reset_parameters(self) -> None:
        """Re-initialise the encoder, the decoder and the embedding (those that can)."""
        for module in (self.encoder, self.decoder, self.embedding):
            if module is not None and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embed the nodes.

        Args:
            graph: the graph.
            x: the node features; the input embedding, else ``graph.x``, when None.
            edge_values: optional per-edge weights (clamped at 0 before the encoder sees them).

        Returns:
            The node embeddings.

        Raises:
            ValueError: no features: neither ``x``, an input embedding nor ``graph.x``.
        """
        if x is None and self.embedding is not None:
            x = self.embedding.weight
        if x is None and graph.x is None:
            raise ValueError(f"graph {graph.name!r} has no node features: build the model with an input embedding")
        if edge_values is not None:
            # learnable edge weights (UGS masks) can cross zero; a negative weight would let a node's degree reach 0
            # and the normalisation blow up, so messages are weighted by max(value, 0)
            edge_values = edge_values.clamp(min=0.0)
        return self.encoder(graph, x, edge_values=edge_values)

    def score(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Pair logits of ``pairs`` ``[2, P]`` from embeddings ``z`` (the decoder's)."""
        return self.decoder(z, pairs.to(z.device))

    def regularization(self, num_nodes: int) -> torch.Tensor | float:
        """VGAE's KL term divided by ``num_nodes`` in training; 0.0 otherwise (and for other encoders)."""
        kl = getattr(self.encoder, "kl", None)
        return 0.0 if kl is None or not self.training else kl / num_nodes


LINK_MODELS = ("gae", "vgae", "gcn", "sage", "gat", "gin", "pyg-gcn", "pyg-sage", "pyg-gat", "pyg-gin")


def build_link_model(
    name: str,
    in_channels: int | None,
    num_nodes: int,
    hidden_channels: int = 32,
    out_channels: int = 16,
    decoder: str = "dot",
    embedding_dim: int = 64,
    dropout: float = 0.0,
) -> LinkModel:
    """Build a link-prediction model by name.

    ``gae`` (GCN encoder 2 layers), ``vgae``, or a registered encoder (``gcn``, ``sage``, ``gat``, ``gin``);
    ``decoder`` ``'dot'`` (inner product) or ``'hadamard'`` (MLP on z_u ⊙ z_v). ``in_channels=None`` (a featureless
    graph) adds a learnable ``num_nodes × embedding_dim`` input embedding.
    """
    from . import build_model

    key = name.lower()
    if key not in LINK_MODELS:
        raise ValueError(f"unknown link model {name!r}; known: {', '.join(LINK_MODELS)}")
    if hidden_channels < 1 or out_channels < 1:
        raise ValueError(f"hidden/out channels must be >= 1, got {hidden_channels}/{out_channels}")
    embedding = None
    if in_channels is None or in_channels == 0:
        if embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1, got {embedding_dim}")
        embedding = nn.Embedding(num_nodes, embedding_dim)
        in_channels = embedding_dim
    if key == "vgae":
        encoder: nn.Module = VGAEEncoder(in_channels, hidden_channels, out_channels)
    else:
        encoder = build_model(
            "gcn" if key == "gae" else key,
            in_channels,
            out_channels,
            hidden_channels=hidden_channels,
            dropout=dropout,
            **({"heads": 1} if key == "gat" else {}),
        )
    if decoder == "dot":
        dec: nn.Module = InnerProductDecoder()
    elif decoder == "hadamard":
        dec = HadamardMLPDecoder(out_channels, hidden_channels)
    else:
        raise ValueError(f"unknown decoder {decoder!r}: use 'dot' or 'hadamard'")
    return LinkModel(encoder, dec, embedding)
