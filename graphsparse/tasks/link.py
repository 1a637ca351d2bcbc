"""Link prediction: train an encoder/decoder on the training edges of a split, select the epoch by validation
AUC, report test AUC / AP / Hits@K / MRR there.

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

import argparse
import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.link_splits import LinkSplit, edge_keys, link_split_from_ogb, sample_non_edges, split_edges
from ..graph import Graph
from ..utils import seed_everything
from .link_metrics import link_metrics
from .node import check_optimizer_options

__all__ = ["LinkTrainConfig", "LinkRunResult", "train_link", "evaluate_link", "run_link", "run_link_command"]


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
        check_optimizer_options(self.epochs, self.lr, self.weight_decay)
        self.hits = tuple(int(k) for k in self.hits)
        if any(k < 1 for k in self.hits):
            raise ValueError(f"Hits@K needs every K >= 1, got {self.hits}")
        if self.train_negatives < 1:
            raise ValueError(f"train_negatives must be >= 1, got {self.train_negatives}")


@dataclass
class LinkRunResult:
    """Metrics of one run at the epoch with the best validation AUC."""

    seed: int
    val: dict[str, float]
    test: dict[str, float]
    best_epoch: int
    epochs_run: int
    seconds: float
    epoch_seconds: float
    best_state: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)

    def metrics(self) -> dict[str, float]:
        out: dict[str, Any] = {"seed": self.seed, "best_epoch": self.best_epoch, "seconds": self.seconds,
                               "epoch_seconds": self.epoch_seconds}
        out.update({f"val_{k}": v for k, v in self.val.items()})
        out.update({f"test_{k}": v for k, v in self.test.items()})
        return out


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
) -> LinkRunResult:
    """Train ``model`` on ``split`` (messages over ``graph``, default ``split.train_graph``; pass a pruned version
    of it to train a ticket). Supervision is always the split's training edges; the model is left at the epoch
    with the best validation AUC."""
    config = config or LinkTrainConfig()
    graph = split.train_graph if graph is None else graph
    device = next(model.parameters()).device
    if edge_values is not None:
        edge_values = edge_values.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    n = split.graph.num_nodes
    forbidden = edge_keys(split.train_pos, n)
    pos = split.train_pos
    if config.self_loop_positives:
        loops = torch.arange(n).repeat(2, 1)
        pos = torch.cat([pos, pos.flip(0), loops], dim=1)
    pos = pos.to(device)
    best_auc, best_epoch, best_state, since_best = -1.0, 0, copy.deepcopy(model.state_dict()), 0
    start, epochs_run = time.perf_counter(), 0
    for epoch in range(1, config.epochs + 1):
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
        epochs_run = epoch
        val_auc = evaluate_link(model, graph, split.val_pos, split.val_neg, edge_values=edge_values)["auc"]
        if val_auc > best_auc:
            best_auc, best_epoch, since_best = val_auc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if config.patience is not None and since_best >= config.patience:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    val = evaluate_link(model, graph, split.val_pos, split.val_neg, config.hits, edge_values)
    test = evaluate_link(model, graph, split.test_pos, split.test_neg, config.hits, edge_values)
    return LinkRunResult(int(seed), val, test, best_epoch, epochs_run, seconds, seconds / max(epochs_run, 1),
                         best_state)


def link_split_for_seed(
    graph: Graph, seed: int, val_fraction: float = 0.05, test_fraction: float = 0.10, neg_ratio: int = 1
) -> LinkSplit:
    """The dataset's own edge split when it has one (OGB link folders), else :func:`split_edges` with ``seed``."""
    if graph.directed:
        raise ValueError(f"link prediction needs an undirected graph; {graph.name!r} is directed")
    ogb = graph.cache().get("ogb_edge_split")
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
) -> list[LinkRunResult]:
    """One split and one model per seed (``seed_everything(seed)`` before the split's model is built)."""
    from tqdm.auto import tqdm

    config = config or LinkTrainConfig()
    graph = _prepare_features(graph, config.normalize_features)
    results = []
    for seed in tqdm(list(seeds), desc=f"link {graph.name}", unit="seed", disable=not progress):
        split = link_split_for_seed(graph, seed, val_fraction, test_fraction, neg_ratio)
        seed_everything(seed)
        model = model_factory().to(device)
        results.append(train_link(split, model, config, seed=seed))
    return results


def _hits_option(text: str | None) -> tuple[int, ...]:
    if not text:
        return (20, 50, 100)
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise ValueError(f"--hits must be comma-separated integers, got {text!r}") from err
    if not values or any(v < 1 for v in values):
        raise ValueError(f"--hits needs integers >= 1, got {text!r}")
    return values


def run_link_command(args: argparse.Namespace, graph: Graph, seeds: list[int], store: Any, device: Any) -> dict:
    """``graphsparse train --task link``: GAE/VGAE or an encoder + decoder over seeds; every run stored."""
    from ..cli import summarize
    from ..nn.gae import build_link_model

    model_name = "gae" if args.model == "gcn" else args.model
    hits = _hits_option(getattr(args, "hits", None))
    config = LinkTrainConfig(
        epochs=args.epochs or 200,
        lr=args.lr or 0.01,
        weight_decay=args.weight_decay or 0.0,
        hits=hits,
    )
    options = {
        "hidden_channels": args.hidden or 32,
        "out_channels": 16,
        "decoder": getattr(args, "decoder", None) or "dot",
        "dropout": args.dropout or 0.0,
    }
    in_channels = graph.num_features if graph.x is not None else None
    build_link_model(model_name, in_channels, graph.num_nodes, **options)  # fail fast on bad options

    def factory() -> nn.Module:
        return build_link_model(model_name, in_channels, graph.num_nodes, **options)

    neg_ratio = int(getattr(args, "eval_negatives", None) or 1)
    results = run_link(graph, factory, seeds, config, neg_ratio=neg_ratio, device=device,
                       progress=not args.no_progress)
    rows = []
    for r in results:
        metrics = r.metrics()
        store.record_run(
            "link",
            graph.name,
            model_name,
            r.seed,
            {"model_options": options, "train": asdict(config), "split": "85/5/10", "eval_negatives": neg_ratio},
            {k: v for k, v in metrics.items() if k.startswith(("val_", "test_")) or k == "best_epoch"},
            {"seconds": r.seconds, "epoch_seconds": r.epoch_seconds},
        )
        rows.append(metrics)
    keys = [k for k in rows[0] if k.startswith(("test_", "val_"))] + ["epoch_seconds"]
    summary: dict[str, Any] = {"dataset": graph.name, "model": model_name, "seeds": len(seeds), "task": "link"}
    summary.update(summarize(rows, keys))
    summary["runs"] = [
        {"seed": r["seed"], "best_epoch": r["best_epoch"], "val_auc": r["val_auc"], "test_auc": r["test_auc"],
         "test_ap": r["test_ap"]}
        for r in rows
    ]
    return summary
