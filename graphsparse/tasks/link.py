"""Link prediction: train an encoder/decoder on a split's training edges, select the epoch by validation AUC.

Test AUC / AP / Hits@K / MRR are reported at that epoch.

Training (full batch, every epoch): embeddings ``Z = model(train_graph)``; the positive pairs are the split's
training edges in both directions plus every ``(i, i)`` (Kipf & Welling reconstruct ``A + I``; switch off with
``self_loop_positives=False``), the negatives ``train_negatives`` per positive, drawn uniformly among the non-edges
of the training graph (a fresh draw each epoch, from a generator seeded with the run's seed); loss = mean BCE of
the positives + mean BCE of the negatives (the expectation of GAE's ``pos_weight``-balanced full reconstruction
loss, without its N×N matrix) + VGAE's KL / N.
Validation and test pairs are scored with the same model in evaluation mode on the training graph only, so no
held-out edge ever passes a message. The reported epoch is the one with the best validation AUC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.link_splits import LinkSplit, edge_keys, link_split_from_ogb, sample_non_edges, split_edges
from ..graph import Graph
from ..train import RunResult, Validation, fit, make_optimizer, run_seeds
from ..validation import check_int
from .link_metrics import link_metrics
from .node import check_optimizer_options

__all__ = ["LinkTrainConfig", "train_link", "evaluate_link", "run_link", "link_split_for_seed"]


@dataclass
class LinkTrainConfig:
    """Hyperparameters of one link-prediction run (defaults: Kipf & Welling's GAE)."""

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 0.0
    patience: int | None = None  # stop when validation AUC has not improved for this many epochs
    hits: tuple[int, ...] = (20, 50, 100)
    normalize_features: bool = False
    train_negatives: int = 1  # negatives drawn per positive pair each epoch (their loss is averaged separately)
    # Kipf & Welling reconstruct A + I: both directions of each training edge and every (i, i) are positives
    self_loop_positives: bool = True

    def __post_init__(self) -> None:
        """Check the options (ValueError names the first one out of range)."""
        check_optimizer_options(self.epochs, self.lr, self.weight_decay)
        if self.patience is not None:
            self.patience = check_int("patience", self.patience, 1)
        self.hits = tuple(check_int("Hits@K", k, 1) for k in self.hits)
        self.train_negatives = check_int("train_negatives", self.train_negatives, 1)


def _base(model: nn.Module) -> nn.Module:
    """The link model inside wrappers such as UGS's (which keep it as ``.base``)."""
    return getattr(model, "base", model)


def _scores(model: nn.Module, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return _base(model).score(z, pairs)


def evaluate_link(
    model: nn.Module,
    graph: Graph,
    pos: torch.Tensor,
    neg: torch.Tensor,
    hits: Sequence[int] = (),
    edge_values: torch.Tensor | None = None,
) -> dict[str, float]:
    """Metrics of ``model`` (evaluation mode, messages over ``graph``) on positive/negative pairs."""
    model.eval()
    with torch.no_grad():
        z = model(graph, edge_values=edge_values)
        return link_metrics(_scores(model, z, pos), _scores(model, z, neg), hits)


def train_link(
    split: LinkSplit,
    model: nn.Module,
    config: LinkTrainConfig | None = None,
    *,
    seed: int = 0,
    graph: Graph | None = None,
    edge_values: torch.Tensor | None = None,
    extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
) -> RunResult:
    """Train ``model`` on ``split`` with :func:`graphsparse.train.fit`.

    Messages pass over ``graph`` (default ``split.train_graph``; pass a pruned version of it to train a ticket).
    Supervision is always the split's training edges; the model is left at the epoch with the best validation AUC
    (ties: the earlier epoch).
    """
    config = config or LinkTrainConfig()
    graph = split.train_graph if graph is None else graph
    device = next(model.parameters()).device
    if edge_values is not None:
        edge_values = edge_values.to(device)
    optimizer = make_optimizer(model, config.lr, config.weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    n = split.graph.num_nodes
    forbidden = edge_keys(split.train_pos, n)
    pos = split.train_pos
    if config.self_loop_positives:
        loops = torch.arange(n).repeat(2, 1)
        pos = torch.cat([pos, pos.flip(0), loops], dim=1)
    pos = pos.to(device)

    def train_epoch(epoch: int) -> torch.Tensor:
        model.train()
        optimizer.zero_grad()
        z = model(graph, edge_values=edge_values)
        neg = sample_non_edges(n, forbidden, pos.size(1) * config.train_negatives, generator).to(device)
        pos_logit, neg_logit = _scores(model, z, pos), _scores(model, z, neg)
        loss = F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit))
        loss = loss + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
        loss = loss + _base(model).regularization(n)
        if extra_loss is not None:
            loss = loss + extra_loss(model)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step(model)
        return loss.detach()

    def validate() -> Validation:
        return Validation(evaluate_link(model, graph, split.val_pos, split.val_neg, edge_values=edge_values)["auc"])

    what = f"{type(_base(model)).__name__} link prediction on {split.graph.name!r}, seed {seed}"
    run = fit(model, train_epoch, validate, epochs=config.epochs, patience=config.patience, what=what)
    val = evaluate_link(model, graph, split.val_pos, split.val_neg, config.hits, edge_values)
    test = evaluate_link(model, graph, split.test_pos, split.test_neg, config.hits, edge_values)
    scores = {f"val_{k}": v for k, v in val.items()}
    scores.update({f"test_{k}": v for k, v in test.items()})
    return RunResult.from_fit(run, seed=seed, split="", metric="auc", scores=scores)


def link_split_for_seed(
    graph: Graph, seed: int, val_fraction: float = 0.05, test_fraction: float = 0.10, neg_ratio: int = 1
) -> LinkSplit:
    """The dataset's own edge split when it has one (OGB link folders), else :func:`split_edges` with ``seed``."""
    if graph.directed:
        raise ValueError(f"link prediction needs an undirected graph; {graph.name!r} is directed")
    ogb = graph.edge_split
    if ogb is not None:
        return link_split_from_ogb(graph, ogb)
    return split_edges(graph, val_fraction, test_fraction, seed=seed, neg_ratio=neg_ratio)


def _prepare_features(graph: Graph, normalize: bool) -> Graph:
    if not normalize or graph.x is None:
        return graph
    from .node import row_normalize_features

    return row_normalize_features(graph)


def run_link(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    config: LinkTrainConfig | None = None,
    *,
    val_fraction: float = 0.05,
    test_fraction: float = 0.10,
    neg_ratio: int = 1,
    device: torch.device | str = "cpu",
    progress: bool = False,
    on_result: Callable[[RunResult], None] | None = None,
    executor: Any = None,
) -> list[RunResult]:
    """One split and one model per seed (``seed_everything(seed)`` before the model is built).

    ``on_result`` sees each result as it finishes; ``executor`` runs the seeds side by side (see
    :func:`~graphsparse.train.run_seeds`).
    """
    config = config or LinkTrainConfig()
    graph = _prepare_features(graph, config.normalize_features)

    def run_one(index: int, seed: int) -> RunResult:
        split = link_split_for_seed(graph, seed, val_fraction, test_fraction, neg_ratio)
        result = train_link(split, model_factory().to(device), config, seed=seed)
        result.split = "ogb" if split_is_ogb(graph) else f"random-{seed}"
        return result

    return run_seeds(
        seeds, run_one, on_result=on_result, desc=f"link {graph.name}", progress=progress, executor=executor
    )


def split_is_ogb(graph: Graph) -> bool:
    """Whether ``graph`` carries its dataset's own edge split (OGB link folders)."""
    return graph.edge_split is not None
