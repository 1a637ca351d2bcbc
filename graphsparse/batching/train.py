"""Cluster-GCN training: mini-batches of clusters, full-graph evaluation, the epoch chosen by validation accuracy.

Every epoch runs one optimizer step per :class:`~graphsparse.batching.loader.ClusterLoader` batch (cross-entropy on
the batch's training nodes). Evaluation runs the model on the *whole* graph (all edges, full degrees) in
evaluation mode — the layer-wise full-graph inference of the paper, since every layer of our models is one sparse
product over the full graph — so test accuracy is measured on every test node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph, GraphError, Split
from ..tasks.node import NodeTrainConfig, evaluate_node, node_metric
from ..train import RunResult, Validation, fit, make_optimizer
from ..validation import check_int
from .loader import ClusterBatch, ClusterLoader

__all__ = ["ClusterConfig", "train_cluster_gcn", "evaluate_full_graph", "make_train_epoch", "step_groups"]


@dataclass
class ClusterConfig:
    """Batching options: METIS parts, clusters per batch (q), recursive bisection or k-way, training-graph only.

    ``eval_every``: validate every that many epochs (and after the last; the best validated epoch is kept).
    ``accumulate`` (GLT searches on in-memory batches): batches per optimizer step, 0 for one step an epoch.
    """

    num_parts: int = 1500
    clusters_per_batch: int = 20
    recursive: bool = True
    train_only: bool = False
    eval_every: int = 1
    # batches whose gradients one optimizer step averages in a GLT search (0: all of an epoch's, one step an epoch
    # as in full-batch training); read by ClusterGLTTask
    accumulate: int = 1

    def __post_init__(self) -> None:
        """Check the counts (each >= 1).

        Raises:
            ValueError: naming the count out of range.
        """
        self.num_parts = check_int("num_parts", self.num_parts, 1)
        self.clusters_per_batch = check_int("clusters_per_batch", self.clusters_per_batch, 1)
        self.eval_every = check_int("eval_every", self.eval_every, 1)
        self.accumulate = check_int("accumulate", self.accumulate, 0)


def evaluate_full_graph(model: nn.Module, graph: Graph, split: Split, metric: str = "acc") -> tuple[float, ...]:
    """(train, val, test) metric of ``model`` on the whole graph (:func:`~graphsparse.tasks.node.evaluate_node`)."""
    return tuple(evaluate_node(model, graph, split, metric=metric).values())


def step_groups(batches: int, per_step: int) -> list[int]:
    """How many of an epoch's ``batches`` each optimizer step averages, ``per_step`` at a time (the last: the rest).

    Args:
        batches: the batches of one epoch.
        per_step: batches per optimizer step (at least 1).

    Returns:
        The group sizes, in order; they sum to ``batches``.
    """
    per_step = max(int(per_step), 1)
    full, rest = divmod(int(batches), per_step)
    return [per_step] * full + ([rest] if rest else [])


def make_train_epoch(
    model: nn.Module,
    loader: Iterable[ClusterBatch],
    optimizer: torch.optim.Optimizer,
    split_name: str,
    accumulate: int = 1,
    step_hook: Callable[[nn.Module], None] | None = None,
) -> Callable[[int], torch.Tensor]:
    """Build one Cluster-GCN epoch over ``loader``'s batches.

    Cross-entropy on each batch's training nodes, one optimizer step per ``accumulate`` batches (their gradients
    averaged; a loader with a length steps the epoch's last, shorter group too); the epoch returns the mean batch
    loss.
    """
    device = next(model.parameters()).device

    size = len(loader) if isinstance(loader, Sized) else None
    group_sizes = step_groups(size, accumulate) if size is not None else None

    def train_epoch(epoch: int) -> torch.Tensor:
        model.train()
        optimizer.zero_grad()
        total, batches = torch.zeros((), device=device), 0
        for i, batch in enumerate(loader):
            index = batch.graph.split(split_name).index("train").to(device)
            logits = model(batch.graph)
            if index.numel():
                loss = F.cross_entropy(logits[index], batch.graph.y.to(device)[index])
            else:  # no training node in this batch: a zero loss keeps every DDP rank stepping in lockstep
                loss = logits.sum() * 0.0
            # the epoch's last, shorter group (batches % accumulate) is averaged over its own batches and stepped
            (loss / (accumulate if group_sizes is None else group_sizes[i // accumulate])).backward()
            if (i + 1) % accumulate == 0 or i + 1 == size:
                if step_hook is not None:
                    step_hook(model)
                optimizer.step()
                optimizer.zero_grad()
            total, batches = total + loss.detach(), batches + 1  # no per-batch device sync
        return total / max(batches, 1)

    return train_epoch


def train_cluster_gcn(
    graph: Graph,
    model: nn.Module,
    loader: ClusterLoader,
    split: Split,
    split_name: str,
    config: NodeTrainConfig,
    *,
    seed: int = 0,
    eval_every: int = 1,
    step_hook: Callable[[nn.Module], None] | None = None,
    accumulate: int = 1,
    progress: bool = False,
) -> RunResult:
    """Train on cluster batches with :func:`graphsparse.train.fit`, validating on the full graph.

    ``step_hook(model)`` runs after each backward, before the step (DDP uses none: its gradients are averaged
    inside ``backward``). ``accumulate=k`` averages the gradients of k consecutive batches per optimizer step: in
    one process it computes what k DDP ranks compute together. ``progress`` counts the epochs on a transient
    bar. The model is left at the best-validation epoch
    (ties: lower validation loss); ``epoch_seconds`` is the training time per epoch (batches only).
    """
    accumulate = check_int("accumulate", accumulate, 1)
    if int(split.val.sum()) == 0:
        raise GraphError(
            f"graph {graph.name!r}: the validation split {split_name!r} is empty; Cluster-GCN selects "
            "the epoch on validation nodes"
        )
    optimizer = make_optimizer(model, config.lr, config.weight_decay, config.decay_first_layer_only)
    val_idx = split.index("val")
    train_epoch = make_train_epoch(model, loader, optimizer, split_name, accumulate, step_hook)

    def validate() -> Validation:
        model.eval()
        with torch.no_grad():
            logits = model(graph)
        y, index = graph.y.to(logits.device), val_idx.to(logits.device)
        return Validation(node_metric(logits, y, index, config.metric), float(F.cross_entropy(logits[index], y[index])))

    what = f"Cluster-GCN {type(model).__name__} on {graph.name!r}, seed {seed}"
    run = fit(
        model,
        train_epoch,
        validate,
        epochs=config.epochs,
        patience=config.patience,
        eval_every=eval_every,
        what=what,
        progress=f"Cluster-GCN seed {seed}" if progress else False,
    )
    scores = evaluate_node(model, graph, split, metric=config.metric)
    return RunResult.from_fit(run, seed=seed, split=split_name, metric=config.metric, scores=scores)
