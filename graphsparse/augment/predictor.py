r"""GAug's edge predictor: a graph auto-encoder with a GCN encoder and an inner-product decoder.

Zhao et al., "Data Augmentation for Graph Neural Networks" (AAAI 2021), after Kipf & Welling's GAE (2016):

.. math::
    H = \hat A X W_0, \qquad Z = \mathrm{ReLU}(\hat A H W_1), \qquad \mathrm{logit}(u, v) = z_u^\top z_v,

with :math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` (no biases; the first layer has no activation, as in the
reference). It is trained with the weighted binary cross-entropy of the paper over all N² pairs of
:math:`A + I`:

.. math::
    \mathcal L = w \cdot \tfrac{1}{N^2} \sum_{u,v} -\big[ \rho\, a_{uv} \log\sigma(l_{uv})
        + (1 - a_{uv}) \log(1 - \sigma(l_{uv})) \big],
    \qquad \rho = \tfrac{N^2 - |A+I|}{|A+I|},\quad w = \tfrac{N^2}{2 (N^2 - |A+I|)}.

:func:`edge_loss_dense` computes it exactly; :func:`edge_loss_sampled` is an unbiased estimate from all
positives and uniformly sampled pairs (no N×N matrix), for large graphs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph
from ..nn.gcn_conv import SparseGCNConv, gcn_normalized_operator
from ..train import fit, make_optimizer
from ..utils import seed_everything

__all__ = [
    "EdgePredictor",
    "edge_loss_dense",
    "edge_loss_sampled",
    "edge_loss",
    "train_edge_predictor",
    "dense_memory_bytes",
]


_ACTIVATIONS = {"none": lambda h: h, "relu": F.relu, "elu": F.elu}


class EdgePredictor(nn.Module):
    """GCN encoder (two layers) + inner-product decoder; ``forward`` returns embeddings ``Z [N, d]``.

    The defaults are GAug-O's edge network (128 → 32, no activation after the first layer, ReLU after the
    second). GAug-M's reference predictor is a separate auto-encoder (32 → 16, ELU after the first layer,
    linear embeddings): ``EdgePredictor(F, 32, 16, hidden_activation="elu", out_activation="none")``. A ReLU on
    the embeddings zeroes whole coordinates, so the inner products that rank non-edges tie and favour hubs.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 128,
        out_channels: int = 32,
        hidden_activation: str = "none",
        out_activation: str = "relu",
    ) -> None:
        """Build the two GCN layers.

        Args:
            in_channels: the node features' width.
            hidden_channels: the first layer's width.
            out_channels: the embeddings' width ``d``.
            hidden_activation: after the first layer: ``"none"``, ``"relu"`` or ``"elu"``.
            out_activation: after the second layer: ``"none"``, ``"relu"`` or ``"elu"``.

        Raises:
            ValueError: an unknown activation.
        """
        super().__init__()
        for name, value in (("hidden_activation", hidden_activation), ("out_activation", out_activation)):
            if value not in _ACTIVATIONS:
                raise ValueError(f"EdgePredictor {name} must be one of {', '.join(_ACTIVATIONS)}, got {value!r}")
        self.hidden_activation, self.out_activation = hidden_activation, out_activation
        self.conv1 = SparseGCNConv(in_channels, hidden_channels, bias=False)
        self.conv2 = SparseGCNConv(hidden_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        """Re-initialise both layers' weights."""
        self.conv1.reset_parameters()
        self.conv2.reset_parameters()

    def forward(
        self, graph: Graph, x: torch.Tensor | None = None, edge_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Embed the nodes of ``graph``.

        Args:
            graph: the graph (its normalised adjacency propagates the features).
            x: the node features; ``graph.x`` when None.
            edge_values: optional per-edge weights of the adjacency (differentiable).

        Returns:
            The embeddings ``Z [N, d]``.
        """
        x = (graph.x if x is None else x).to(self.conv1.weight.device)
        adj = gcn_normalized_operator(graph, edge_values, device=x.device)
        hidden = _ACTIVATIONS[self.hidden_activation](self.conv1(x, adj))
        return _ACTIVATIONS[self.out_activation](self.conv2(hidden, adj))

    @staticmethod
    def dense_logits(z: torch.Tensor) -> torch.Tensor:
        """All pair logits ``Z Z^T`` (N×N; small graphs only)."""
        return z @ z.T


def _dense_target(graph: Graph, device: torch.device | str = "cpu") -> torch.Tensor:
    """``A + I`` as a dense float matrix."""
    n = graph.num_nodes
    target = torch.eye(n, device=device)
    ei = graph.edge_index.to(device)
    target[ei[0], ei[1]] = 1.0
    return target


def _weights(num_nodes: int, num_positive: int) -> tuple[float, float]:
    n2 = float(num_nodes) ** 2
    pos_weight = (n2 - num_positive) / num_positive
    norm = n2 / (2.0 * (n2 - num_positive))
    return pos_weight, norm


def edge_loss_dense(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's weighted BCE over all N² entries of ``logits`` against ``target`` (= A + I)."""
    pos_weight, norm = _weights(target.size(0), int(target.sum()))
    weight = torch.tensor([pos_weight], device=logits.device, dtype=logits.dtype)
    return norm * F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)


def edge_loss_sampled(
    graph: Graph, z: torch.Tensor, num_negatives: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Unbiased estimate of :func:`edge_loss_dense` from every positive of ``A + I`` and uniform random pairs.

    The positive term is exact; the negative term (the mean over the N² − |A+I| zero entries) is estimated by
    the mean over ``num_negatives`` uniform pairs that are not positives (default: as many as positives).
    """
    n = graph.num_nodes
    ei = graph.edge_index.to(z.device)
    loops = torch.arange(n, device=z.device)
    pos = torch.cat([ei, torch.stack([loops, loops])], 1)
    num_pos = pos.size(1)
    pos_weight, norm = _weights(n, num_pos)
    n2 = float(n) ** 2
    pos_logits = (z[pos[0]] * z[pos[1]]).sum(-1)
    pos_term = pos_weight * F.softplus(-pos_logits).sum() / n2
    count = num_negatives or num_pos
    pairs = torch.randint(0, n, (2, count), generator=generator).to(z.device)
    keys = pairs[0] * n + pairs[1]
    pos_keys = torch.sort(pos[0] * n + pos[1]).values
    where = torch.searchsorted(pos_keys, keys).clamp(max=pos_keys.numel() - 1)
    negative = pos_keys[where] != keys
    pairs = pairs[:, negative]
    if pairs.size(1) == 0:
        return norm * pos_term
    neg_logits = (z[pairs[0]] * z[pairs[1]]).sum(-1)
    neg_term = F.softplus(neg_logits).mean() * (n2 - num_pos) / n2
    return norm * (pos_term + neg_term)


def edge_loss(graph: Graph, z: torch.Tensor, dense: bool, target: torch.Tensor | None = None) -> torch.Tensor:
    """Exact (dense) or sampled edge-prediction loss of embeddings ``z``."""
    if dense:
        target = _dense_target(graph, z.device) if target is None else target
        return edge_loss_dense(z @ z.T, target)
    return edge_loss_sampled(graph, z)


def train_edge_predictor(
    graph: Graph,
    predictor: EdgePredictor | None = None,
    epochs: int = 200,
    lr: float = 0.01,
    dense: bool | None = None,
    seed: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool | str = False,
) -> EdgePredictor:
    """Train an :class:`EdgePredictor` on ``graph``'s edges (full batch, Adam, no weight decay).

    ``dense=None`` picks the exact N² loss for graphs up to 10^4 nodes, the sampled one above; ``progress``
    counts the epochs on a transient bar (see :func:`graphsparse.train.fit`).
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if graph.x is None:
        raise ValueError(f"graph {graph.name!r} has no features x: the edge predictor's encoder needs them")
    if seed is not None:
        seed_everything(seed)
    if predictor is None:
        predictor = EdgePredictor(graph.num_features)
    predictor = predictor.to(device)
    dense = graph.num_nodes <= 10_000 if dense is None else dense
    target = _dense_target(graph, device) if dense else None
    optimizer = make_optimizer(predictor, lr)

    def train_epoch(epoch: int) -> torch.Tensor:
        predictor.train()
        optimizer.zero_grad()
        loss = edge_loss(graph, predictor(graph), dense, target)
        loss.backward()
        optimizer.step()
        return loss.detach()

    if epochs:  # no validation edges: every epoch runs and the last state is kept
        fit(predictor, train_epoch, None, epochs=epochs, what=f"edge predictor on {graph.name!r}", progress=progress)
    predictor.eval()
    return predictor


def dense_memory_bytes(num_nodes: int, matrices: int = 6, bytes_per_value: int = 4) -> int:
    """Memory of ``matrices`` dense N×N float matrices (what dense GAug-O keeps alive at once)."""
    return int(matrices) * int(num_nodes) ** 2 * bytes_per_value
