"""Cluster-GCN batches as a GLT trainer: every level of a graph lottery ticket search trained on mini-batches.

:class:`ClusterGLTTask` implements the trainer protocol of :mod:`graphsparse.tasks.glt`. The METIS partition is
computed once, on the seed's unpruned graph (cached), and reused for every pruned graph of the search (a pruned
graph has the same nodes; its batches just hold fewer edges). Each epoch runs one optimizer step per batch of
``clusters_per_batch`` clusters (or per ``ClusterConfig.accumulate`` batches, their gradients averaged; 0: one step
an epoch, as full-batch training takes): cross-entropy on the batch's training nodes plus the search's terms
restricted to the batch (a distillation teacher's outputs on the batch's nodes, a loss on the batch's outputs, and
the extra loss on the model divided by the epoch's optimizer steps, :func:`penalty_per_step`). Learnable edge values
(UGS, WD-GLT) are indexed by the batch's edge ids and gathered with sparse gradients (``sparse_edge_masks``, stepped
by SparseAdam: :func:`batch_optimizers`), so only the batch's entries get gradients and optimizer steps. The epoch
is selected on the full graph's validation nodes, as :func:`train_cluster_gcn` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data.diskview import mapped_zeros
from ..graph import Graph
from ..tasks.glt import OutputLoss, Teacher, distillation_loss
from ..tasks.node import NodeTrainConfig, evaluate_node, node_metric, row_normalize_features, split_for_seed
from ..train import Validation, fit, make_optimizer
from .loader import ClusterBatch, ClusterLoader
from .parts import cluster_parts
from .train import ClusterConfig, step_groups

__all__ = ["ClusterGLTTask", "batch_optimizers", "penalty_per_step"]


def penalty_per_step(
    extra_loss: Callable[[nn.Module], torch.Tensor] | None, steps: int
) -> Callable[[nn.Module], torch.Tensor] | None:
    """``extra_loss`` spread over an epoch of ``steps`` batches: each step adds ``extra_loss(model) / steps``.

    A GLT method's ``extra_loss`` is a penalty on the whole model (UGS's l1 norms of its masks), sized for one
    full-batch step; spread this way an epoch of batches carries the same penalty as a full-batch epoch. Added
    whole at every step, it would weigh ``steps`` times as much per epoch against the cross-entropy (UGS then
    prunes the wrong weights: ``docs/glt/fidelity.md``).

    Args:
        extra_loss: the penalty, or None.
        steps: the optimizer steps of one epoch (at least 1).

    Returns:
        The spread penalty, or None when ``extra_loss`` is None.
    """
    if extra_loss is None:
        return None
    share = 1.0 / max(int(steps), 1)
    return lambda model: extra_loss(model) * share


def batch_optimizers(model: nn.Module, config: NodeTrainConfig, *, steps: int = 1) -> list[torch.optim.Optimizer]:
    """The optimizers of a batch trainer: Adam over ``model``'s dense parameters, SparseAdam over its sparse ones.

    The sparse ones are ``model.sparse_parameters()`` (a learnable edge mask gathered per batch), when the model
    has that method and it names any. The model's ``per_epoch_parameters()`` (UGS's weight masks), when it has
    them, are stepped at ``lr / steps``: over an epoch of ``steps`` batches they move as far as in one full-batch
    step. Adam moves a parameter by about the learning rate each step whatever its gradient's size, so at the full
    rate the masks would drift ``steps`` times as far per epoch, and UGS's ranking of them would carry that drift
    (``docs/glt/fidelity.md``). A sparse edge mask needs no such scaling: each entry is stepped only in the one
    batch of the epoch that holds its edge. When the model keeps them in a ``mask_folder`` (a file-backed UGS mask),
    SparseAdam's two moments are memory-mapped files there too: a step reads and writes only the batch's rows.

    Args:
        model: the model to train.
        config: the learning rate, weight decay and first-layer-only decay.
        steps: the optimizer steps of one epoch.

    Returns:
        ``[Adam]`` or ``[Adam, SparseAdam]``.
    """
    hook = getattr(model, "sparse_parameters", None)
    sparse = list(hook()) if callable(hook) else []
    per_epoch = getattr(model, "per_epoch_parameters", None)
    dense = make_optimizer(
        model,
        config.lr,
        config.weight_decay,
        config.decay_first_layer_only,
        exclude=sparse,
        slowed=list(per_epoch()) if callable(per_epoch) else (),
        slowdown=float(max(int(steps), 1)),
    )
    if not sparse:
        return [dense]
    lazy = torch.optim.SparseAdam(sparse, lr=config.lr)
    folder = getattr(model, "mask_folder", None)
    if folder is not None:  # the moments beside a file-backed mask: SparseAdam takes state it finds in place
        for p in sparse:
            lazy.state[p] = {
                "step": 0,
                "exp_avg": mapped_zeros(p.numel(), folder).view_as(p),
                "exp_avg_sq": mapped_zeros(p.numel(), folder).view_as(p),
            }
    return [dense, lazy]


class ClusterGLTTask:
    """Node classification on Cluster-GCN batches as a GLT trainer.

    Args:
        graph: the (undirected) graph.
        config: training options (``normalize_features`` row-normalises the features once).
        cluster: METIS parts and clusters per batch.
        split: split name (default: the graph's default split).

    Raises:
        ValueError: the graph is directed.
    """

    name = "node"
    sparse_edge_masks = True  # a learnable edge mask gets the batch's rows as a sparse gradient (SparseAdam)

    def __init__(
        self,
        graph: Graph,
        config: NodeTrainConfig | None = None,
        cluster: ClusterConfig | None = None,
        split: str | None = None,
    ) -> None:
        """Check the graph and hold the options (the arguments are described in the class docstring)."""
        if graph.directed:
            raise ValueError(f"GLT search needs an undirected graph; graph {graph.name!r} is directed")
        self.config = config or NodeTrainConfig()
        self.cluster = cluster or ClusterConfig()
        self.split = split
        self.graph = row_normalize_features(graph) if self.config.normalize_features else graph
        self.graph_name = graph.name
        self.metric = self.config.metric

    def describe(self) -> dict[str, Any]:
        """JSON-able hyperparameters (training and clustering), hashed into the store key."""
        train = asdict(self.config)
        if not train["sparse_features"]:
            del train["sparse_features"]
        cluster = asdict(self.cluster)
        if cluster["accumulate"] == 1:  # the default: keys of searches stored before the option stay valid
            del cluster["accumulate"]
        return {
            "task": self.name,
            "train": train,
            "split": self.split,
            "batching": "cluster",
            "cluster": cluster,
            # learned edge masks are binarised within equal batch counts (ugs_prune's edge_strata): searches
            # stored before that ranked them together and are not these
            "edge_masks": "ranked-within-exposure",
        }

    def graph_for_seed(self, seed_index: int, seed: int) -> Graph:
        """The same graph for every seed (features row-normalised when the config asks)."""
        return self.graph

    def parts(self, seed_index: int) -> torch.Tensor:
        """The METIS partition of the unpruned graph (cached on disk by content)."""
        _, split = split_for_seed(self.graph, seed_index, self.split)
        return cluster_parts(self.graph, self.cluster, split.train)

    def batches(self, graph: Graph, seed_index: int, seed: int) -> Iterable[ClusterBatch]:
        """One epoch's batches of ``graph`` (a pruned version of the seed's graph), edge ids over ``graph``."""
        return ClusterLoader(graph, self.parts(seed_index), self.cluster.clusters_per_batch, seed=seed)

    def predict(self, graph: Graph, model: nn.Module) -> torch.Tensor:
        """The model's node logits on the full ``graph`` in evaluation mode (a distillation teacher's outputs)."""
        model.eval()
        with torch.no_grad():
            return model(graph).detach().cpu()

    def fit(
        self,
        graph: Graph,
        model: nn.Module,
        *,
        seed: int,
        seed_index: int,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        output_loss: OutputLoss | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: Teacher | None = None,
    ) -> dict[str, Any]:
        """Train ``model`` on ``graph``'s Cluster-GCN batches and keep its best validated epoch.

        The arguments and result are those of :meth:`graphsparse.tasks.glt.GLTTask.fit`.
        """
        config = self.config
        split_name, split = split_for_seed(graph, seed_index, self.split)
        loader = self.batches(graph, seed_index, seed)
        per_step = self.cluster.accumulate or len(loader)
        group_sizes = step_groups(len(loader), per_step)
        optimizers = batch_optimizers(model, config, steps=len(group_sizes))
        extra_loss = penalty_per_step(extra_loss, len(group_sizes))
        device = next(model.parameters()).device
        selects_edges = bool(getattr(model, "selects_edges", False))

        def train_epoch(epoch: int) -> torch.Tensor:
            model.train()
            total, batches = torch.zeros((), device=device), 0
            for i, batch in enumerate(loader):
                if i % per_step == 0:
                    for optimizer in optimizers:
                        optimizer.zero_grad()
                index = batch.graph.split(split_name).index("train").to(device)
                kwargs: dict[str, Any] = {}
                if selects_edges:  # the model owns values over the full graph's edge ids: it takes the batch's
                    kwargs["edge_ids"] = batch.edge_ids
                if edge_values is not None:
                    kwargs["edge_values"] = edge_values[batch.edge_ids.to(edge_values.device)]
                logits = model(batch.graph, **kwargs)
                y = batch.graph.y.to(device)
                loss = F.cross_entropy(logits[index], y[index]) if index.numel() else logits.sum() * 0.0
                if teacher is not None and teacher.weight > 0:
                    target = teacher.logits[batch.nodes.to(teacher.logits.device)].to(device)
                    loss = loss + teacher.weight * distillation_loss(logits, target)
                if output_loss is not None:
                    loss = loss + output_loss(logits)
                if extra_loss is not None:
                    loss = loss + extra_loss(model)
                (loss / group_sizes[i // per_step]).backward()  # the step averages its batches' gradients
                if (i + 1) % per_step == 0 or i + 1 == len(loader):
                    for optimizer in optimizers:
                        optimizer.step()
                    if after_step is not None:
                        after_step(model)
                total, batches = total + loss.detach(), batches + 1
            return total / max(batches, 1)

        val_idx = split.index("val")

        def validate() -> Validation:
            model.eval()
            with torch.no_grad():
                logits = model(graph, edge_values=edge_values) if edge_values is not None else model(graph)
            y, index = graph.y.to(logits.device), val_idx.to(logits.device)
            return Validation(
                node_metric(logits, y, index, config.metric), float(F.cross_entropy(logits[index], y[index]))
            )

        run = fit(
            model,
            train_epoch,
            validate,
            epochs=config.epochs,
            patience=config.patience,
            eval_every=self.cluster.eval_every,
            what=f"GLT Cluster-GCN {type(model).__name__} on {graph.name!r}, seed {seed}",
        )
        scores = evaluate_node(model, graph, split, edge_values, config.metric)
        m = config.metric
        return {
            "val": scores[f"val_{m}"],
            "test": scores[f"test_{m}"],
            "best_epoch": run.best_epoch,
            "best_state": run.best_state,
        }
