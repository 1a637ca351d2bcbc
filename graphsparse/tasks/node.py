"""Full-batch node classification: train with the one fit loop, pick the epoch by validation, test there.

The validation metric is accuracy, or ROC-AUC for binary datasets registered with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph, GraphError, Split
from ..graph.checks import check_split_labels
from ..graph.csr import quiet_csr
from ..train import RunResult, Validation, fit, make_optimizer, run_seeds
from ..validation import check_choice, check_float, check_int

__all__ = [
    "NodeTrainConfig",
    "train_node",
    "evaluate_node",
    "run_node",
    "node_metric",
    "row_normalize_features",
    "with_sparse_features",
    "split_for_seed",
    "check_optimizer_options",
    "check_evaluation_split",
    "withholds_test_labels",
]

NODE_METRICS = ("acc", "roc_auc")


FLOAT32_MAX = 3.4028234663852886e38  # torch.finfo(torch.float32).max


def check_optimizer_options(epochs: int, lr: float, weight_decay: float) -> None:
    """The checks every training config shares: epochs >= 1, 0 < lr, weight decay >= 0.

    Both lr and weight decay must be finite and within float32 (the optimizer's arithmetic: ``--weight-decay 1e300``
    would overflow inside Adam's step; Adam's first step divides lr by ``1 - β1 = 0.1``, hence the tenth).

    Raises:
        ValueError: an option out of range.
    """
    check_int("epochs", epochs, 1)
    check_float("lr", lr, 0.0, FLOAT32_MAX / 10, include_minimum=False)
    check_float("weight_decay", weight_decay, 0.0, FLOAT32_MAX)


@dataclass
class NodeTrainConfig:
    """Hyperparameters of one full-batch training run.

    These are the library defaults; the papers' settings live in :mod:`graphsparse.presets`.
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 5e-4
    patience: int | None = None  # stop when validation has not improved for this many epochs
    metric: str = "acc"  # 'acc', or 'roc_auc' for binary tasks (minesweeper, tolokers)
    decay_first_layer_only: bool = False  # Kipf & Welling regularise only the first layer
    normalize_features: bool = False  # row-normalise x (sum to 1), as Kipf & Welling do on Planetoid
    # hand models x as CSR whatever its size (wide first layers on bag-of-words features: the SpMM wins);
    # False keeps Graph.sparse_x's size rule. Dropout then draws over the non-zeros only (same distribution).
    sparse_features: bool = False

    def __post_init__(self) -> None:
        """Check the options (ValueError names the first one out of range)."""
        check_optimizer_options(self.epochs, self.lr, self.weight_decay)
        if self.patience is not None:
            self.patience = check_int("patience", self.patience, 1)
        check_choice("metric", self.metric, NODE_METRICS)


def node_metric(
    logits: torch.Tensor, y: torch.Tensor, index: torch.Tensor, metric: str = "acc", *, part: str = "evaluation"
) -> float:
    """Accuracy (or binary ROC-AUC) of ``logits`` on the nodes in ``index``.

    Args:
        logits: model outputs ``[N, C]``.
        y: node labels ``[N]``.
        index: the scored nodes.
        metric: ``'acc'`` or ``'roc_auc'``.
        part: what ``index`` is (``'val'``, ``'test'``...), for messages.

    Returns:
        The score, a float in [0, 1].

    Raises:
        GraphError: ``index`` is empty (there is nothing to score: the score would be NaN), or holds unlabelled
            nodes (``y = -1``: they would be counted as wrong).
    """
    if index.numel() == 0:
        raise GraphError(f"the {part} part has no nodes: there is nothing to score (its {metric} would be NaN)")
    labels = y[index]
    unknown = int((labels < 0).sum())
    if unknown:
        raise GraphError(
            f"the {part} part holds {unknown} unlabelled node{'s' if unknown != 1 else ''} (y = -1) of "
            f"{index.numel()}: they cannot be scored; take them out of the {part} mask"
        )
    if metric == "roc_auc":
        from sklearn.metrics import roc_auc_score

        scores = logits[index].softmax(-1)[:, -1].detach().cpu().numpy()
        return float(roc_auc_score(labels.cpu().numpy(), scores))
    return float((logits[index].argmax(-1) == labels).float().mean())


def withholds_test_labels(graph: Graph, split: Split) -> bool:
    """Whether ``split`` deliberately has no test nodes.

    That is: its test part is empty and every node outside its training and validation parts (there is at least
    one) is unlabelled, as in the tuning graph of :func:`graphsparse.tuning.tuning_graph`. The test score of such a
    split is NaN ("not measured").

    Args:
        graph: the graph (its labels are read).
        split: the split's masks.

    Returns:
        True when the test labels are withheld.
    """
    if graph.y is None or bool(split.test.any()):
        return False
    outside = ~(split.train | split.val)
    return bool(outside.any()) and not bool((graph.y[outside.to(graph.y.device)] >= 0).any())


def check_evaluation_split(graph: Graph, split: Split, split_name: str = "") -> None:
    """Refuse a split whose validation or test part cannot be scored (before any training).

    Args:
        graph: the labelled graph.
        split: the split's masks.
        split_name: its name, for messages.

    Raises:
        GraphError: the validation part is empty; the test part is empty while labelled nodes exist outside the
            training and validation parts (see :func:`withholds_test_labels`); or either part holds unlabelled
            nodes (naming the split, the part and the count).
    """
    where = f"graph {graph.name!r}, split {split_name!r}" if split_name else f"graph {graph.name!r}"
    if int(split.val.sum()) == 0:
        raise GraphError(
            f"{where}: the validation split is empty; the epoch (and every model choice) is selected "
            "on validation nodes, so give the split some"
        )
    if int(split.test.sum()) == 0 and not withholds_test_labels(graph, split):
        raise GraphError(
            f"{where}: the test split is empty, so there is nothing to test on (the test score would be NaN); "
            "give the split test nodes"
        )
    try:
        check_split_labels(graph.y, split, split_name, ("val", "test"))
    except GraphError as err:
        raise GraphError(f"graph {graph.name!r}: {err}") from None


def _check_task(graph: Graph, split: Split, split_name: str = "") -> None:
    if graph.y is None:
        raise GraphError(f"graph {graph.name!r} has no labels y: node classification needs them")
    if graph.x is None:
        raise GraphError(f"graph {graph.name!r} has no features x: node classification models need them")
    if int(split.train.sum()) == 0:
        raise GraphError(f"graph {graph.name!r}: the training split is empty")
    if int((graph.y[split.train] < 0).sum()):
        raise GraphError(f"graph {graph.name!r}: the training split holds unlabelled nodes (y = -1)")
    check_evaluation_split(graph, split, split_name)


@torch.no_grad()
def evaluate_node(
    model: nn.Module,
    graph: Graph,
    split: Split,
    edge_values: torch.Tensor | None = None,
    metric: str = "acc",
    split_name: str = "",
) -> dict[str, float]:
    """Scores of ``model`` (in eval mode) on the parts of ``split``.

    Args:
        model: the trained model.
        graph: the graph it runs on.
        split: the split's masks.
        edge_values: optional values per edge id, passed to the model.
        metric: ``'acc'`` or ``'roc_auc'``.
        split_name: the split's name, for messages.

    Returns:
        ``{"train_<metric>": .., "val_<metric>": .., "test_<metric>": ..}``; the test score is NaN only when the
        split withholds its test labels (:func:`withholds_test_labels`).

    Raises:
        GraphError: a part that must be scored is empty or holds unlabelled nodes (:func:`check_evaluation_split`).
    """
    if graph.y is None:
        raise GraphError(f"graph {graph.name!r} has no labels y: there is nothing to evaluate against")
    check_evaluation_split(graph, split, split_name)
    withheld = withholds_test_labels(graph, split)
    model.eval()
    logits = model(graph, edge_values=edge_values).cpu()
    return {
        f"{part}_{metric}": (
            float("nan")
            if part == "test" and withheld
            else node_metric(logits, graph.y, split.index(part), metric, part=part)
        )
        for part in ("train", "val", "test")
    }


def with_sparse_features(graph: Graph) -> Graph:
    """A copy of ``graph`` whose models get ``x`` as a CSR tensor (``Graph.sparse_x``), whatever its size."""
    if graph.x is None or graph.sparse_x() is not None:
        return graph
    out = graph.replace()
    with quiet_csr():
        out._set_cached("sparse_x", graph.x.to_sparse_csr())
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
    on_epoch: Callable[[int, Validation], None] | None = None,
) -> RunResult:
    """Train ``model`` full-batch on ``graph`` with :func:`graphsparse.train.fit`.

    The model keeps the epoch with the best validation score (ties: lower validation loss).

    ``extra_loss(model)`` is added to the loss (e.g. UGS's l1 penalties), ``after_step(model)`` runs after each
    optimizer step (e.g. projection onto an l0 ball), ``loss_fn(logits, train_index)`` replaces the
    cross-entropy (e.g. distillation). ``edge_values`` (per edge id) are passed to the model. ``on_epoch(epoch,
    validation)`` sees the validation curve as it is drawn (:func:`graphsparse.train.fit`).
    """
    config = config or NodeTrainConfig()
    _check_task(graph, split, split_name)
    if config.sparse_features:
        graph = with_sparse_features(graph)
    device = next(model.parameters()).device
    y = graph.y.to(device)
    train_idx, val_idx = split.index("train").to(device), split.index("val").to(device)
    if optimizer is None:
        optimizer = make_optimizer(model, config.lr, config.weight_decay, config.decay_first_layer_only)

    def train_epoch(epoch: int) -> torch.Tensor:
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
        return loss.detach()

    def validate() -> Validation:
        model.eval()
        with torch.no_grad():
            logits = model(graph, edge_values=edge_values)
            score = node_metric(logits, y, val_idx, config.metric, part="val")
            return Validation(score, float(F.cross_entropy(logits[val_idx], y[val_idx])))

    what = f"{type(model).__name__} on {graph.name!r}, seed {seed}"
    run = fit(
        model, train_epoch, validate, epochs=config.epochs, patience=config.patience, what=what, on_epoch=on_epoch
    )
    scores = evaluate_node(model, graph, split, edge_values, config.metric, split_name)
    return RunResult.from_fit(run, seed=seed, split=split_name, metric=config.metric, scores=scores)


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
    on_result: Callable[[RunResult], None] | None = None,
    executor: Any = None,
    **train_kwargs: Any,
) -> list[RunResult]:
    """One training run per seed (model built after seeding, so each seed is reproducible).

    ``on_result`` sees each result as it finishes (record it there); ``executor`` runs the seeds side by side (see
    :func:`~graphsparse.train.run_seeds`).
    """
    config = config or NodeTrainConfig()
    if config.normalize_features:
        graph = row_normalize_features(graph)

    def run_one(index: int, seed: int) -> RunResult:
        split_name, split_masks = split_for_seed(graph, index, split)
        model = model_factory().to(device)
        return train_node(graph, model, split_masks, config, seed=seed, split_name=split_name, **train_kwargs)

    return run_seeds(seeds, run_one, on_result=on_result, desc=graph.name, progress=progress, executor=executor)
