"""Cluster-GCN training: mini-batches of clusters, full-graph evaluation, the epoch chosen by validation accuracy.

Every epoch runs one optimizer step per :class:`~graphsparse.batching.loader.ClusterLoader` batch (cross-entropy on
the batch's training nodes). Evaluation runs the model on the *whole* graph (all edges, full degrees) in
evaluation mode — the layer-wise full-graph inference of the paper, since every layer of our models is one sparse
product over the full graph — so test accuracy is measured on every test node.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..graph import Graph, Split
from ..tasks.node import NodeRunResult, NodeTrainConfig, node_metric
from .loader import ClusterLoader

__all__ = ["ClusterConfig", "train_cluster_gcn", "evaluate_full_graph"]


@dataclass
class ClusterConfig:
    """Batching options: METIS parts, clusters per batch (q), recursive bisection or k-way, training-graph only."""

    num_parts: int = 1500
    clusters_per_batch: int = 20
    recursive: bool = True
    train_only: bool = False
    eval_every: int = 1

    def __post_init__(self) -> None:
        if self.num_parts < 1 or self.clusters_per_batch < 1:
            raise ValueError(
                f"parts and clusters per batch must be >= 1, got {self.num_parts} and {self.clusters_per_batch}"
            )
        if self.eval_every < 1:
            raise ValueError(f"eval_every must be >= 1, got {self.eval_every}")


def evaluate_full_graph(model: nn.Module, graph: Graph, split: Split, metric: str = "acc") -> tuple[float, ...]:
    """(train, val, test) metric of ``model`` on the whole graph."""
    model.eval()
    with torch.no_grad():
        logits = model(graph)
    y = graph.y.to(logits.device)
    return tuple(node_metric(logits, y, mask.nonzero().view(-1).to(logits.device), metric) for mask in split)


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
) -> NodeRunResult:
    """Train on cluster batches; ``step_hook(model)`` runs after each backward, before the step (DDP uses none:
    its gradients are averaged inside ``backward``). ``accumulate=k`` averages the gradients of k consecutive
    batches per optimizer step: in one process it computes what k DDP ranks compute together. The model is left
    at the best-validation epoch; the result's ``epoch_seconds`` is the training time per epoch (batches only,
    evaluation excluded)."""
    if accumulate < 1:
        raise ValueError(f"accumulate must be >= 1, got {accumulate}")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    device = next(model.parameters()).device
    best = (-1.0, 0.0, 0.0, 0)  # val, test, train, epoch
    best_state = copy.deepcopy(model.state_dict())
    since_best, epochs_run, start, train_seconds = 0, 0, time.perf_counter(), 0.0
    for epoch in range(1, config.epochs + 1):
        model.train()
        optimizer.zero_grad()
        for step, batch in enumerate(loader, start=1):
            train_mask = batch.graph.split(split_name).train
            index = train_mask.nonzero().view(-1).to(device)
            tick = time.perf_counter()
            logits = model(batch.graph)
            if index.numel():
                loss = F.cross_entropy(logits[index], batch.graph.y.to(device)[index])
            else:  # no training node in this batch: a zero loss keeps every DDP rank stepping in lockstep
                loss = logits.sum() * 0.0
            (loss / accumulate).backward()
            if step % accumulate == 0:
                if step_hook is not None:
                    step_hook(model)
                optimizer.step()
                optimizer.zero_grad()
            train_seconds += time.perf_counter() - tick
        epochs_run = epoch
        if epoch % eval_every and epoch != config.epochs:
            continue
        train_acc, val_acc, test_acc = evaluate_full_graph(model, graph, split, config.metric)
        if val_acc > best[0]:
            best, since_best = (val_acc, test_acc, train_acc, epoch), 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += eval_every
            if config.patience is not None and since_best >= config.patience:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return NodeRunResult(
        seed=seed, split=split_name, val_acc=best[0], test_acc=best[1], train_acc=best[2], best_epoch=best[3],
        epochs_run=epochs_run, seconds=seconds, epoch_seconds=train_seconds / max(epochs_run, 1), best_state=best_state,
    )
