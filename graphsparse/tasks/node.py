"""Full-batch node classification: train, pick the epoch by validation accuracy, test there."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph, GraphError, Split
from ..utils import seed_everything

__all__ = [
    "NodeTrainConfig",
    "NodeRunResult",
    "train_node",
    "evaluate_node",
    "run_node",
    "node_metric",
    "row_normalize_features",
    "with_sparse_features",
    "split_for_seed",
]


def check_optimizer_options(epochs: int, lr: float, weight_decay: float) -> None:
    """The checks every training config shares: epochs >= 1, lr > 0, weight decay >= 0."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")


@dataclass
class NodeTrainConfig:
    """Hyperparameters of one full-batch training run (defaults: Kipf & Welling's GCN)."""

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    patience: int | None = None  # stop when validation accuracy has not improved for this many epochs
    metric: str = "acc"  # 'acc', or 'roc_auc' for binary tasks (minesweeper, tolokers)
    decay_first_layer_only: bool = False  # Kipf & Welling regularise only the first layer
    normalize_features: bool = False  # row-normalise x (sum to 1), as Kipf & Welling do on Planetoid
    # hand models x as CSR whatever its size (wide first layers on bag-of-words features: the SpMM wins);
    # False keeps Graph.sparse_x's size rule. Dropout then draws over the non-zeros only (same distribution).
    sparse_features: bool = False

    def __post_init__(self) -> None:
        check_optimizer_options(self.epochs, self.lr, self.weight_decay)
        if self.metric not in ("acc", "roc_auc"):
            raise ValueError(f"metric must be 'acc' or 'roc_auc', got {self.metric!r}")


@dataclass
class NodeRunResult:
    """What one run produced: metrics at the epoch with the best validation score."""

    seed: int
    split: str
    val_acc: float
    test_acc: float
    train_acc: float
    best_epoch: int
    epochs_run: int
    seconds: float
    epoch_seconds: float
    best_state: dict[str, torch.Tensor] = field(repr=False, default_factory=dict)

    def metrics(self) -> dict[str, float]:
        out = asdict(self)
        out.pop("best_state")
        return out


def node_metric(logits: torch.Tensor, y: torch.Tensor, index: torch.Tensor, metric: str = "acc") -> float:
    """Accuracy (or binary ROC-AUC) of ``logits`` on the nodes in ``index``."""
    if index.numel() == 0:
        return float("nan")
    if metric == "roc_auc":
        from sklearn.metrics import roc_auc_score

        scores = logits[index].softmax(-1)[:, -1].detach().cpu().numpy()
        return float(roc_auc_score(y[index].cpu().numpy(), scores))
    return float((logits[index].argmax(-1) == y[index]).float().mean())


def _check_task(graph: Graph, split: Split) -> None:
    if graph.y is None:
        raise GraphError(f"graph {graph.name!r} has no labels y: node classification needs them")
    if graph.x is None:
        raise GraphError(f"graph {graph.name!r} has no features x: node classification models need them")
    if int(split.train.sum()) == 0:
        raise GraphError(f"graph {graph.name!r}: the training split is empty")
    if int((graph.y[split.train] < 0).sum()):
        raise GraphError(f"graph {graph.name!r}: the training split holds unlabelled nodes (y = -1)")


@torch.no_grad()
def evaluate_node(
    model: nn.Module, graph: Graph, split: Split, edge_values: torch.Tensor | None = None, metric: str = "acc"
) -> dict[str, float]:
    """Train/val/test scores of ``model`` in eval mode."""
    model.eval()
    logits = model(graph, edge_values=edge_values).cpu()
    return {part: node_metric(logits, graph.y, split.index(part), metric) for part in ("train", "val", "test")}


def _param_groups(model: nn.Module, config: NodeTrainConfig) -> list[dict[str, Any]]:
    """Weight decay on every parameter, or only on the first layer's (``model.convs[0]`` / ``model.lins[0]``)."""
    layers = getattr(model, "convs", None) or getattr(model, "lins", None)
    if not config.decay_first_layer_only or not layers:
        return [{"params": list(model.parameters()), "weight_decay": config.weight_decay}]
    first = {id(p) for p in layers[0].parameters()}
    return [
        {"params": [p for p in model.parameters() if id(p) in first], "weight_decay": config.weight_decay},
        {"params": [p for p in model.parameters() if id(p) not in first], "weight_decay": 0.0},
    ]


def with_sparse_features(graph: Graph) -> Graph:
    """A copy of ``graph`` whose models get ``x`` as a CSR tensor (``Graph.sparse_x``), whatever its size."""
    if graph.x is None or graph.sparse_x() is not None:
        return graph
    out = graph.replace()
    out.cache()["sparse_x"] = graph.x.to_sparse_csr()
    return out


def row_normalize_features(graph: Graph) -> Graph:
    """A new graph whose feature rows sum to 1 (all-zero rows stay zero)."""
    if graph.x is None:
        return graph
    rowsum = graph.x.sum(1, keepdim=True)
    return graph.replace(x=graph.x / rowsum.masked_fill(rowsum == 0, 1.0))


def train_node(
    graph: Graph,
    model: nn.Module,
    split: Split,
    config: NodeTrainConfig | None = None,
    *,
    edge_values: torch.Tensor | None = None,
    extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
    after_step: Callable[[nn.Module], None] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
    split_name: str = "",
) -> NodeRunResult:
    """Train ``model`` full-batch on ``graph``; keep the epoch with the best validation score.

    ``extra_loss(model)`` is added to the loss (e.g. UGS's l1 penalties), ``after_step(model)`` runs after each
    optimizer step (e.g. projection onto an l0 ball), ``loss_fn(logits, train_index)`` replaces the
    cross-entropy (e.g. distillation). ``edge_values`` (per edge id) are passed to the model.
    Ties in validation score go to the lower validation loss.
    """
    config = config or NodeTrainConfig()
    _check_task(graph, split)
    if config.sparse_features:
        graph = with_sparse_features(graph)
    device = next(model.parameters()).device
    y = graph.y.to(device)
    train_idx, val_idx = split.index("train").to(device), split.index("val").to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(_param_groups(model, config), lr=config.lr)
    best = (-float("inf"), float("inf"))
    best_state: dict[str, torch.Tensor] = {}
    best_epoch, since_best, epoch = 0, 0, 0
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        optimizer.zero_grad()
        logits = model(graph, edge_values=edge_values)
        loss = loss_fn(logits, train_idx) if loss_fn else F.cross_entropy(logits[train_idx], y[train_idx])
        if extra_loss is not None:
            loss = loss + extra_loss(model)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step(model)
        model.eval()
        with torch.no_grad():
            logits = model(graph, edge_values=edge_values)
            val_score = node_metric(logits, y, val_idx, config.metric)
            val_loss = float(F.cross_entropy(logits[val_idx], y[val_idx])) if val_idx.numel() else 0.0
        if (val_score, -val_loss) > (best[0], -best[1]):
            best, best_epoch, since_best = (val_score, val_loss), epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if config.patience is not None and since_best >= config.patience:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    scores = evaluate_node(model, graph, split, edge_values, config.metric)
    return NodeRunResult(
        seed=seed,
        split=split_name,
        val_acc=scores["val"],
        test_acc=scores["test"],
        train_acc=scores["train"],
        best_epoch=best_epoch,
        epochs_run=epoch,
        seconds=seconds,
        epoch_seconds=seconds / max(epoch, 1),
        best_state=copy.copy(best_state),
    )


def split_for_seed(graph: Graph, seed_index: int, split: str | None = None) -> tuple[str, Split]:
    """The split a seed runs on: ``split`` if named, else 'public' if the graph has it, else cycle over splits."""
    if split is not None:
        return split, graph.split(split)
    names = list(graph.splits)
    if not names:
        raise GraphError(f"graph {graph.name!r} has no splits; give it one or load a dataset that defines them")
    name = "public" if "public" in names else names[seed_index % len(names)]
    return name, graph.split(name)


def run_node(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    seeds: list[int],
    config: NodeTrainConfig | None = None,
    split: str | None = None,
    device: torch.device | str = "cpu",
    progress: bool = True,
    **train_kwargs: Any,
) -> list[NodeRunResult]:
    """One training run per seed (model built after seeding, so each seed is reproducible)."""
    from tqdm.auto import tqdm

    if config is not None and config.normalize_features:
        graph = row_normalize_features(graph)
    results = []
    for i, seed in enumerate(tqdm(seeds, desc=f"{graph.name}", unit="seed", disable=not progress, leave=False)):
        split_name, split_masks = split_for_seed(graph, i, split)
        seed_everything(seed)
        model = model_factory().to(device)
        results.append(train_node(graph, model, split_masks, config, seed=seed, split_name=split_name, **train_kwargs))
    return results
