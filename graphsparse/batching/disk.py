"""Cluster-GCN on a graph stored on disk by part (:mod:`graphsparse.data.diskgraph`), read through memory maps.

A batch of q clusters is assembled from the clusters' row slices (CSR rows, features, labels, split masks): the
induced subgraph of their nodes, between-cluster edges kept, exactly as :class:`~.loader.ClusterLoader` builds it
from an in-memory graph. Nothing of the whole graph is materialised.

**Shards.** The parts are cut into ``S`` shards of consecutive part ids (METIS numbers neighbouring parts
consecutively, so a shard is a region of the graph and one contiguous range of rows). Each epoch one permutation
of all parts is drawn (the same on every rank); shard ``s`` takes its own parts in that order and groups them q at
a time. Step ``k`` of an epoch consumes batch ``k`` of every shard. Under DDP with ``w`` ranks, ``S = w`` and rank
``r`` opens and trains on shard ``r`` only, so per-rank memory falls as ranks are added; one process with
``batch_multiple=w`` (``S = w``) yields the same batches in step order, and accumulating their gradients
(``accumulate=w``) computes what the ``w`` ranks compute together.

**Evaluation** is batched too (:func:`evaluate_disk`): the shard's parts in ascending order, q at a time, each
batch's induced subgraph in evaluation mode; correct counts and losses are summed per shard and, under DDP,
all-reduced, so every rank sees the numbers one process sees. Unlike the in-memory trainer's full-graph
evaluation, edges between evaluation batches are not used.

**Pruned graphs.** ``keep`` (a :class:`~graphsparse.data.edgemask.PackedEdgeMask` over undirected edge ids) drops
the edges it prunes from every batch, for training and evaluation alike: the pruned graph is trained and evaluated.
Batches of a folder with edge ids (format 2) carry ``edge_ids`` (the undirected id of each batch edge, aligned with
``batch.graph.edges``), so per-edge values over the whole graph (learnable edge masks) are
``values[batch.edge_ids]``; :func:`evaluate_disk` takes them through ``edge_values_of``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.diskgraph import DiskGraph
from ..data.edgemask import PackedEdgeMask
from ..graph import GraphError
from ..tasks.node import NodeTrainConfig
from ..train import RunResult, Validation, fit, make_optimizer
from ..validation import check_int
from .loader import ClusterBatch
from .train import make_train_epoch

__all__ = ["DiskClusterLoader", "shard_parts", "evaluate_disk", "train_cluster_gcn_disk"]

_PARTS = ("train", "val", "test")


def shard_parts(num_parts: int, shards: int, shard: int) -> range:
    """Part ids of ``shard`` when ``num_parts`` parts are cut into ``shards`` runs of consecutive ids."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} outside [0, {shards})")
    return range(shard * num_parts // shards, (shard + 1) * num_parts // shards)


class DiskClusterLoader:
    """Iterate Cluster-GCN batches of a :class:`DiskGraph` (one epoch per iteration; ``len()`` batches).

    ``ranks=(r, w)`` with ``w > 1``: this rank's shard only (``disk`` may be opened on just those parts).
    ``batch_multiple=k`` in one process: ``k`` shards, their batches interleaved step by step (for
    ``accumulate=k``). ``disk`` must hold the parts of every shard this loader yields.
    """

    def __init__(
        self,
        disk: DiskGraph,
        clusters_per_batch: int = 1,
        shuffle: bool = True,
        seed: int = 0,
        progress: bool = False,
        ranks: tuple[int, int] = (0, 1),
        batch_multiple: int = 1,
        keep: PackedEdgeMask | None = None,
    ) -> None:
        """Cut the parts into shards and check that ``disk`` holds this loader's.

        Args:
            disk: the partitioned disk graph.
            clusters_per_batch: parts per batch.
            shuffle: a new order of the parts every epoch (the same on every rank).
            seed: the seed of that order.
            progress: show the epoch's batches on a transient bar.
            ranks: ``(rank, world size)``.
            batch_multiple: shards interleaved in one process (for ``accumulate``).
            keep: keep-bits over the graph's undirected edge ids: pruned edges leave every batch (None: all kept).

        Raises:
            ValueError: a count below 1, a rank outside the world, or ``batch_multiple`` with several ranks.
            GraphError: more shards than parts, a shard without nodes, a shard's parts missing from ``disk``, or
                ``keep`` on a folder without edge ids or over another number of edges.
        """
        self.q = check_int("clusters_per_batch", clusters_per_batch, 1)
        batch_multiple = check_int("batch_multiple", batch_multiple, 1)
        rank, world = ranks
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside world size {world}")
        if world > 1 and batch_multiple > 1:
            raise ValueError("batch_multiple is for one process; with several ranks each rank steps once per batch")
        self.disk, self.shuffle, self.progress, self.rank, self.world = disk, shuffle, progress, rank, world
        self.shards = max(world, batch_multiple)
        self.my_shards = [rank] if world > 1 else list(range(self.shards))
        num_parts = disk.num_parts
        if self.shards > num_parts:
            raise GraphError(f"{disk.folder}: {num_parts} parts cannot be cut into {self.shards} shards")
        sizes = np.diff(disk.part_ptr)
        # empty parts (possible with METIS on tiny graphs) are never batched
        self._shard_parts = [
            np.array([p for p in shard_parts(num_parts, self.shards, s) if sizes[p] > 0], dtype=np.int64)
            for s in range(self.shards)
        ]
        for s in self.my_shards:
            need = shard_parts(num_parts, self.shards, s)
            if need.start < disk.parts.start or need.stop > disk.parts.stop:
                raise GraphError(
                    f"{disk.folder}: shard {s} needs parts {need.start}..{need.stop - 1}, "
                    f"the opened share holds {disk.parts.start}..{disk.parts.stop - 1}"
                )
        if min(len(p) for p in self._shard_parts) == 0:
            raise GraphError(f"{disk.folder}: a shard of {num_parts} parts over {self.shards} shards has no nodes")
        self._generator = torch.Generator().manual_seed(int(seed))
        if keep is not None:
            disk.require_edge_ids("a keep-mask")
            if keep.num_edges != disk.num_edges:
                raise GraphError(
                    f"{disk.folder}: keep-bits over {keep.num_edges} edges, the graph has {disk.num_edges}"
                )
        self.keep = keep

    def batch(self, clusters: np.ndarray) -> ClusterBatch:
        """The batch of ``clusters`` (their induced subgraph minus the edges ``keep`` prunes).

        Args:
            clusters: part ids.

        Returns:
            The batch; ``edge_ids`` is None when the folder stores no edge ids (format 1).
        """
        tensor = torch.from_numpy(np.asarray(clusters, dtype=np.int64))
        if self.disk.has_edge_ids:
            graph, nodes, edge_ids = self.disk.cut(clusters, self.keep)
            return ClusterBatch(graph, nodes, tensor, edge_ids)
        graph, nodes = self.disk.subgraph(clusters)
        return ClusterBatch(graph, nodes, tensor)

    def steps(self) -> int:
        """Steps per epoch: every shard runs the same number (DDP all-reduces each one), the smallest shard's."""
        return min(-(-len(p) // self.q) for p in self._shard_parts)

    def __len__(self) -> int:
        """Batches per epoch: :meth:`steps` times this loader's shards."""
        return self.steps() * len(self.my_shards)

    def __iter__(self) -> Iterator[ClusterBatch]:
        """Yield one epoch's batches (the shards' batches interleaved step by step)."""
        from tqdm.auto import tqdm

        num_parts = self.disk.num_parts
        if self.shuffle:  # one permutation of all parts, the same on every rank
            order = torch.randperm(num_parts, generator=self._generator).numpy()
        else:
            order = np.arange(num_parts)
        steps = self.steps()
        groups = {}
        for s in self.my_shards:
            mine = order[np.isin(order, self._shard_parts[s])]
            groups[s] = [mine[i * self.q : (i + 1) * self.q] for i in range(steps)]
        plan = [(s, groups[s][k]) for k in range(steps) for s in self.my_shards]
        for _, clusters in tqdm(plan, desc="cluster batches", unit="batch", disable=not self.progress, leave=False):
            yield self.batch(clusters)

    def eval_groups(self, clusters_per_batch: int | None = None) -> list[tuple[int, np.ndarray]]:
        """(shard, parts) of the evaluation batches: each of this loader's shards, parts ascending, q at a time."""
        q = self.q if clusters_per_batch is None else check_int("clusters_per_batch", clusters_per_batch, 1)
        return [(s, p[i : i + q]) for s in self.my_shards for p in [self._shard_parts[s]] for i in range(0, len(p), q)]


def _all_reduce(sums: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        dist.all_reduce(sums)
    return sums


def evaluate_disk(
    model: nn.Module,
    loader: DiskClusterLoader,
    split_name: str,
    metric: str = "acc",
    clusters_per_batch: int | None = None,
    edge_values_of: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[dict[str, float], float]:
    """``({"train_acc", "val_acc", "test_acc"}, validation loss)`` over the evaluation batches of every shard.

    Under DDP each rank scores its shard and the sums are all-reduced: every rank gets the same numbers. The
    batches are the loader's: edges its ``keep`` prunes are left out (the pruned graph is evaluated).

    Args:
        model: the model (called as ``model(graph)``, or ``model(graph, edge_values=...)``).
        loader: the loader whose shards, keep-bits and clusters per batch are evaluated.
        split_name: the split whose train/val/test nodes are scored.
        metric: ``"acc"`` (the only one computed on disk).
        clusters_per_batch: parts per evaluation batch (None: the loader's).
        edge_values_of: maps a batch's undirected edge ids (int64, aligned with ``batch.graph.edges``) to the
            per-edge values passed to the model (learnable edge masks); needs a folder with edge ids.

    Returns:
        The scores and the validation loss.

    Raises:
        ValueError: a metric other than accuracy.
        GraphError: the split is missing, or ``edge_values_of`` on a folder without edge ids.
    """
    if metric != "acc":
        raise ValueError(f"evaluation on a disk graph computes accuracy only, got metric {metric!r}")
    if split_name not in loader.disk.splits:
        raise GraphError(f"{loader.disk.folder}: no split {split_name!r} (it has {loader.disk.splits})")
    if edge_values_of is not None:
        loader.disk.require_edge_ids("evaluating with edge values")
    device = next(model.parameters()).device
    # [shard, part, (correct, count, loss sum)]: each shard's rows are summed in the same order by whichever
    # process scores it, and shards are combined in shard order, so DDP and one process agree bit for bit
    sums = torch.zeros(loader.shards, 3, 3, dtype=torch.float64)
    model.eval()
    with torch.no_grad():
        for shard, clusters in loader.eval_groups(clusters_per_batch):
            batch = loader.batch(clusters)
            graph = batch.graph
            if edge_values_of is None:
                logits = model(graph)
            else:
                logits = model(graph, edge_values=edge_values_of(batch.edge_ids))
            y = graph.y.to(logits.device)
            split = graph.split(split_name)
            for j, part in enumerate(_PARTS):
                index = split.index(part).to(logits.device)
                if index.numel() == 0:
                    continue
                sums[shard, j, 0] += float((logits[index].argmax(-1) == y[index]).sum())
                sums[shard, j, 1] += index.numel()
                sums[shard, j, 2] += float(F.cross_entropy(logits[index].double(), y[index], reduction="sum"))
    totals = _all_reduce(sums.to(device), loader.world).cpu().sum(0)
    scores = {
        f"{part}_{metric}": float(totals[j, 0] / totals[j, 1]) if totals[j, 1] > 0 else float("nan")
        for j, part in enumerate(_PARTS)
    }
    val_loss = float(totals[1, 2] / totals[1, 1]) if totals[1, 1] > 0 else float("nan")
    return scores, val_loss


def train_cluster_gcn_disk(
    model: nn.Module,
    loader: DiskClusterLoader,
    split_name: str,
    config: NodeTrainConfig,
    *,
    seed: int = 0,
    eval_every: int = 1,
    step_hook: Callable[[nn.Module], None] | None = None,
    accumulate: int = 1,
    progress: bool = False,
    eval_clusters_per_batch: int | None = None,
) -> RunResult:
    """:func:`~.train.train_cluster_gcn` for a disk graph.

    The same training step, validation and final scores from :func:`evaluate_disk` (batched; all-reduced under
    DDP). ``epoch_seconds`` times the batches only.
    """
    accumulate = check_int("accumulate", accumulate, 1)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, config.decay_first_layer_only)
    train_epoch = make_train_epoch(model, loader, optimizer, split_name, accumulate, step_hook)

    def validate() -> Validation:
        scores, loss = evaluate_disk(model, loader, split_name, config.metric, eval_clusters_per_batch)
        if scores[f"val_{config.metric}"] != scores[f"val_{config.metric}"]:
            raise GraphError(f"{loader.disk.folder}: the validation split {split_name!r} has no node in the batches")
        return Validation(scores[f"val_{config.metric}"], loss)

    what = f"Cluster-GCN {type(model).__name__} on disk graph {loader.disk.name!r}, seed {seed}"
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
    scores, _ = evaluate_disk(model, loader, split_name, config.metric, eval_clusters_per_batch)
    return RunResult.from_fit(run, seed=seed, split=split_name, metric=config.metric, scores=scores)
