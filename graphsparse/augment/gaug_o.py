r"""GAug-O (Zhao et al., "Data Augmentation for Graph Neural Networks", AAAI 2021): learned edge augmentation.

An edge predictor (:class:`~graphsparse.augment.predictor.EdgePredictor`, logits :math:`L = Z Z^\top`) and a
node classifier are trained jointly. Each epoch the classifier sees a graph sampled from

.. math::
    P = L / \max L, \qquad P' = \alpha P + (1 - \alpha) A, \qquad
    \tilde A = \mathrm{ST}\big(\mathrm{RelaxedBernoulli}(P', T)\big) \text{ (upper triangle, mirrored)},

normalised as :math:`D^{-1/2}(\tilde A + I)D^{-1/2}` for GCN, and the loss is
:math:`\mathcal L_{nc} + \beta \mathcal L_{ep}`; gradients reach the predictor through the straight-through
sample. Both nets are pre-trained first (``pretrain_ep`` / ``pretrain_nc`` epochs), evaluation runs on the
original graph and the epoch is picked by validation accuracy.

Two modes:

* ``dense`` — faithful to the paper: :math:`L`, :math:`P'`, the sample and the normalised adjacency are N×N,
  and the edge loss is the exact N² weighted BCE. Memory ~ several N² floats, so for N ≲ 10^4.
* ``sparse`` — the sample is drawn only over the original edges plus a candidate set of the
  ``candidate_ratio·|E|`` highest-scoring non-edges (found blockwise, refreshed every ``refresh_every``
  epochs); the sampled values are per-edge weights on that union graph, propagated through the CSR SpMM
  (whose backward gives d/d(edge values)); :math:`\max L` is taken over the diagonal, the edges and the
  candidates (the exact global maximum whenever the candidates are current); the edge loss is the unbiased
  sampled estimate. Pairs outside the candidate set, which the dense mode samples with small probability
  :math:`\alpha P`, are never added.

``mode='auto'`` picks dense up to ``dense_max_nodes`` nodes.
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph, GraphError, Split
from ..nn.models import GCN
from ..tasks.node import FLOAT32_MAX, evaluate_node, node_metric, row_normalize_features
from ..train import RunResult, Validation, fit, make_optimizer
from ..utils import seed_everything
from ..validation import check_float, check_int
from .predictor import EdgePredictor, _dense_target, edge_loss_dense, edge_loss_sampled
from .sampling import relaxed_bernoulli_st
from .topk import pair_scores, topk_non_edges

__all__ = [
    "GAugOConfig",
    "edge_probabilities",
    "sample_dense_adjacency",
    "sample_sparse_edges",
    "dense_gcn_normalize",
    "candidate_graph",
    "train_gaug_o",
    "warmup_schedule",
]


@dataclass
class GAugOConfig:
    """GAug-O hyperparameters (defaults: the reference's ``GAug`` class; presets hold the tuned ones)."""

    alpha: float = 1.0
    beta: float = 0.5
    temperature: float = 0.2
    pretrain_ep: int = 200
    pretrain_nc: int = 20
    warmup: float = 0.0  # sigmoid warm-up of the predictor's learning rate (0: constant)
    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    patience: int = 100
    mode: str = "auto"  # 'dense', 'sparse' or 'auto'
    dense_max_nodes: int = 10_000
    candidate_ratio: float = 1.0  # sparse mode: candidate non-edges as a multiple of |E|
    refresh_every: int = 20  # sparse mode: recompute the candidate set every this many epochs
    ep_hidden: int = 128
    ep_out: int = 32
    normalize_features: bool = True

    def __post_init__(self) -> None:
        """Check every option: each number finite and in range, ``mode`` one of 'auto', 'dense', 'sparse'.

        Raises:
            ValueError: naming the first option out of range.
        """
        # every number checked finite (NaN passes any ``x < 0`` test) and in range, naming the option
        self.alpha = check_float("alpha", self.alpha, 0.0, 1.0)
        self.beta = check_float("beta", self.beta, 0.0)
        self.temperature = check_float("temperature", self.temperature, 0.0, include_minimum=False)
        self.warmup = check_float("warmup", self.warmup, 0.0)
        self.lr = check_float("lr", self.lr, 0.0, FLOAT32_MAX / 10, include_minimum=False)  # Adam: lr / 0.1
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0, FLOAT32_MAX)
        self.candidate_ratio = check_float("candidate_ratio", self.candidate_ratio, 0.0)
        for name in ("pretrain_ep", "pretrain_nc"):
            setattr(self, name, check_int(name, getattr(self, name), 0))
        for name in ("epochs", "patience", "refresh_every", "dense_max_nodes", "ep_hidden", "ep_out"):
            setattr(self, name, check_int(name, getattr(self, name), 1))
        if self.mode not in ("auto", "dense", "sparse"):
            raise ValueError(f"mode must be 'auto', 'dense' or 'sparse', got {self.mode!r}")

    def resolved_mode(self, graph: Graph) -> str:
        """Return the mode for ``graph``: ``mode`` itself, or for 'auto' 'dense' up to ``dense_max_nodes`` nodes.

        Args:
            graph: the graph to train on.

        Returns:
            ``"dense"`` or ``"sparse"``.
        """
        if self.mode != "auto":
            return self.mode
        return "dense" if graph.num_nodes <= self.dense_max_nodes else "sparse"


# ---------------------------------------------------------------------------------------------- functional core
def edge_probabilities(
    logits: torch.Tensor, max_logit: torch.Tensor, alpha: float, original: torch.Tensor
) -> torch.Tensor:
    r""":math:`P' = \alpha\, L / \max L + (1 - \alpha) A`, clipped to [0, 1]."""
    scaled = logits / max_logit.clamp(min=1e-12)
    if alpha >= 1.0:
        return scaled.clamp(0.0, 1.0)
    return (alpha * scaled + (1.0 - alpha) * original).clamp(0.0, 1.0)


def sample_dense_adjacency(
    logits: torch.Tensor, original: torch.Tensor, alpha: float, temperature: float
) -> torch.Tensor:
    """Dense GAug-O sample: straight-through relaxed Bernoulli of ``P'`` on the strict upper triangle, mirrored.

    ``original`` is the dense ``A + I`` (the diagonal does not matter: it is dropped and refilled with ones by
    :func:`dense_gcn_normalize`).
    """
    probs = edge_probabilities(logits, logits.max(), alpha, original)
    sample = relaxed_bernoulli_st(probs, temperature).triu(1)
    return sample + sample.T


def dense_gcn_normalize(adjacency: torch.Tensor) -> torch.Tensor:
    r""":math:`D^{-1/2}(\tilde A + I)D^{-1/2}` of a dense adjacency with a zero diagonal (differentiable)."""
    adj = adjacency + torch.eye(adjacency.size(0), dtype=adjacency.dtype, device=adjacency.device)
    inv_sqrt = adj.sum(1).pow(-0.5)
    return inv_sqrt.unsqueeze(1) * adj * inv_sqrt.unsqueeze(0)


def sample_sparse_edges(
    z: torch.Tensor, union: Graph, is_original: torch.Tensor, alpha: float, temperature: float
) -> torch.Tensor:
    """Sparse GAug-O sample: one straight-through value per edge id of ``union`` (original edges + candidates).

    ``max L`` is taken over the diagonal ``z_u . z_u`` and the union's pairs.
    """
    logits = pair_scores(z, union.edges.to(z.device))
    max_logit = torch.maximum(logits.max() if logits.numel() else z.new_zeros(()), (z * z).sum(1).max())
    probs = edge_probabilities(logits, max_logit, alpha, is_original.to(z.dtype))
    return relaxed_bernoulli_st(probs, temperature)


def candidate_graph(graph: Graph, z: torch.Tensor, num_candidates: int) -> tuple[Graph, torch.Tensor]:
    """``graph``'s edges plus its ``num_candidates`` top-scoring non-edges, and a mask of the original edges."""
    n = graph.num_nodes
    available = n * (n - 1) // 2 - graph.num_edges
    pairs, _ = topk_non_edges(graph, z, min(num_candidates, available))
    union = Graph(torch.cat([graph.edges, pairs], 1), num_nodes=n, name=f"{graph.name}+candidates")
    keys = union.edges[0] * n + union.edges[1]
    is_original = torch.isin(keys, graph.edges[0] * n + graph.edges[1])
    return union, is_original


def warmup_schedule(epochs: int, lr: float, warmup: float) -> torch.Tensor:
    """Sigmoid ramp of the learning rate from 0 to ``lr`` over ``epochs`` (steepness ``warmup``)."""
    if warmup <= 0 or epochs < 2:
        return torch.full((epochs,), lr)
    t = torch.arange(epochs, dtype=torch.float64) / (epochs - 1) * (2 * warmup) - warmup
    s = torch.sigmoid(t)
    return ((s - s[0]) / (s[-1] - s[0]) * lr).float()


# ---------------------------------------------------------------------------------------------- classifier calls
def _gcn_dense_forward(model: GCN, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    for i, conv in enumerate(model.convs):
        x = conv(x, adj, dropout=model.dropout)  # SparseGCNConv only needs ``adj @ h``: a dense matrix works as is
        if i < len(model.convs) - 1:
            x = F.relu(x)
    return x


def _dense_sample_graph(sample: torch.Tensor) -> tuple[Graph, torch.Tensor]:
    """The sampled edges of a dense 0/1 sample as a Graph plus their (straight-through) values."""
    upper = sample.detach().triu(1).nonzero().T  # row-major, u < v: the order Graph stores edges in
    return Graph(upper, num_nodes=sample.size(0), name="gaug-o-sample"), sample[upper[0], upper[1]]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------- training
def train_gaug_o(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    split: Split,
    config: GAugOConfig | None = None,
    seed: int = 0,
    split_name: str = "",
    device: torch.device | str = "cpu",
    progress: bool = False,
    on_epoch: Callable[[int, Validation], None] | None = None,
) -> RunResult:
    """Train GAug-O (edge predictor + the classifier ``model_factory()``) on ``graph``; see the module docs.

    ``progress`` shows the pre-training and training epochs on transient bars; ``on_epoch(epoch, validation)`` sees
    the classifier's validation curve (:func:`graphsparse.train.fit`).
    """
    config = config or GAugOConfig()
    if graph.x is None or graph.y is None:
        raise GraphError(f"graph {graph.name!r} needs features x and labels y for GAug-O")
    if graph.directed:
        raise GraphError(f"GAug-O needs an undirected graph; {graph.name!r} is directed")
    if graph.num_edges == 0:
        raise GraphError(f"graph {graph.name!r} has no edges: there is nothing for the edge predictor to learn")
    mode = config.resolved_mode(graph)
    if config.normalize_features:
        graph = row_normalize_features(graph)
    seed_everything(seed)
    x = graph.x.to(device)
    y = graph.y.to(device)
    train_idx, val_idx, test_idx = (split.index(p).to(device) for p in ("train", "val", "test"))
    predictor = EdgePredictor(graph.num_features, config.ep_hidden, config.ep_out).to(device)
    classifier = model_factory().to(device)
    dense_gcn = mode == "dense" and isinstance(classifier, GCN)
    target = _dense_target(graph, device) if mode == "dense" else None

    def ep_loss(z: torch.Tensor) -> torch.Tensor:
        return edge_loss_dense(z @ z.T, target) if target is not None else edge_loss_sampled(graph, z)

    what = f"GAug-O {type(classifier).__name__} on {graph.name!r}, seed {seed}"

    # pre-training (fixed epochs, no selection): the edge predictor on the edges, the classifier on the graph
    opt_pre_ep = make_optimizer(predictor, config.lr)

    def pretrain_predictor(epoch: int) -> torch.Tensor:
        predictor.train()
        opt_pre_ep.zero_grad()
        loss = ep_loss(predictor(graph, x))
        loss.backward()
        opt_pre_ep.step()
        return loss.detach()

    opt_pre_nc = make_optimizer(classifier, config.lr, config.weight_decay)

    def pretrain_classifier(epoch: int) -> torch.Tensor:
        classifier.train()
        opt_pre_nc.zero_grad()
        loss = F.cross_entropy(classifier(graph, x)[train_idx], y[train_idx])
        loss.backward()
        opt_pre_nc.step()
        return loss.detach()

    if config.pretrain_ep:
        fit(
            predictor,
            pretrain_predictor,
            None,
            epochs=config.pretrain_ep,
            what=f"{what} (predictor pre-training)",
            progress="GAug-O predictor pre-training" if progress else False,
        )
    if config.pretrain_nc:
        fit(
            classifier,
            pretrain_classifier,
            None,
            epochs=config.pretrain_nc,
            what=f"{what} (classifier pre-training)",
            progress="GAug-O classifier pre-training" if progress else False,
        )

    opt_ep = make_optimizer(predictor, config.lr)
    opt_nc = make_optimizer(classifier, config.lr, config.weight_decay)
    schedule = warmup_schedule(config.epochs, config.lr, config.warmup)
    num_candidates = int(config.candidate_ratio * graph.num_edges)
    state: dict[str, Any] = {"union": None, "is_original": None}

    def train_epoch(epoch: int) -> torch.Tensor:
        if config.warmup > 0:
            for group in opt_ep.param_groups:
                group["lr"] = float(schedule[epoch - 1])
        predictor.train()
        classifier.train()
        z = predictor(graph, x)
        if mode == "dense":
            logits = z @ z.T
            sample = sample_dense_adjacency(logits, target, config.alpha, config.temperature)
            if dense_gcn:
                out = _gcn_dense_forward(classifier, x, dense_gcn_normalize(sample))
            else:
                sampled, values = _dense_sample_graph(sample)
                out = classifier(sampled, x, edge_values=values)
            link_loss = edge_loss_dense(logits, target)
        else:
            if state["union"] is None or (epoch - 1) % config.refresh_every == 0:
                state["union"], state["is_original"] = candidate_graph(graph, z.detach().cpu(), num_candidates)
            values = sample_sparse_edges(z, state["union"], state["is_original"], config.alpha, config.temperature)
            out = classifier(state["union"], x, edge_values=values)
            link_loss = edge_loss_sampled(graph, z)
        loss = F.cross_entropy(out[train_idx], y[train_idx]) + config.beta * link_loss
        opt_ep.zero_grad()
        opt_nc.zero_grad()
        loss.backward()
        opt_ep.step()
        opt_nc.step()
        return loss.detach()

    def validate() -> Validation:
        classifier.eval()
        with torch.no_grad():
            logits = classifier(graph, x)
        return Validation(node_metric(logits, y, val_idx), float(F.cross_entropy(logits[val_idx], y[val_idx])))

    # the classifier is what is selected and kept; the predictor only shapes its training graphs
    run = fit(
        classifier,
        train_epoch,
        validate,
        epochs=config.epochs,
        patience=config.patience,
        what=what,
        progress=f"GAug-O seed {seed}" if progress else False,
        on_epoch=on_epoch,
    )
    union = state["union"]
    return RunResult.from_fit(
        run,
        seed=seed,
        split=split_name,
        metric="acc",
        scores=evaluate_node(classifier, graph, split),
        extra={
            "mode": mode,
            "peak_rss_mb": _peak_rss_mb(),
            "num_candidates": 0 if union is None else union.num_edges - graph.num_edges,
        },
    )
