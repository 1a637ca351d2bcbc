"""Cluster-GCN batches read from a part-ordered disk graph as a GLT trainer: searches beyond memory.

:class:`DiskClusterGLTTask` implements the trainer protocol of :mod:`graphsparse.tasks.glt` without ever holding
the whole graph. Its graph is a :class:`~graphsparse.data.diskview.DiskGLTGraph` (a folder and the level's
keep-bits over undirected edge ids); every batch is cut from memory maps with the level's pruned edges dropped
(:meth:`~graphsparse.data.diskgraph.DiskGraph.cut`), and carries its edges' ids. What it holds beside a batch:

- the keep-bits (one bit per edge) and, for a model with a learnable edge mask (UGS), a table of kept edges per
  byte of the bits to translate a batch's edge ids into the mask's positions;
- a distillation teacher's logits, written once to a file beside the graph (:class:`~.DiskArray`) and read per
  batch (:meth:`predict`);
- the model, its optimizer state and N-sized vectors of the evaluation.

A learnable edge mask is stepped sparsely: the task sets ``sparse_edge_masks = True``, so a GLT method builds its
mask with a sparse gradient (the batch's rows only; see :mod:`graphsparse.sparsify.methods.ugs`), and :meth:`fit`
steps the model's ``sparse_parameters()`` with :class:`torch.optim.SparseAdam` (lazy Adam: only the batch's rows
of the mask and its two moments are read and written) and every other parameter with the usual Adam.

Evaluation is batched like :func:`~graphsparse.batching.disk.evaluate_disk`: the parts in ascending order, ``q`` at
a time, each batch's induced subgraph (edges between evaluation batches are not used); accuracy only.

The task pickles as the folder's path (its source :class:`Graph`, if any, is dropped once the folder is written),
so Ray workers map the graph themselves.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.diskgraph import DiskGraph
from ..data.diskview import DiskArray, DiskGLTGraph, work_folder
from ..data.diskwrite import csr_worth_it
from ..graph import Graph, GraphError
from ..tasks.glt import OutputLoss, Teacher, distillation_loss
from ..tasks.node import NodeTrainConfig, row_normalize_features
from ..train import Validation, fit
from .disk import DiskClusterLoader
from .glt import batch_optimizers, penalty_per_step
from .loader import ClusterBatch
from .partition import cluster_disk_graph
from .train import ClusterConfig

__all__ = ["DiskClusterGLTTask"]

_PARTS = ("train", "val", "test")


def _check_folder_parts(folder: Path, cluster: ClusterConfig) -> None:
    """Refuse partition options a partitioned folder cannot honour (it is used as it is, never re-partitioned)."""
    parts = int(DiskGraph.read_meta(folder).get("num_parts", 1))
    if parts <= 1:
        return
    if cluster.num_parts != parts:
        raise ValueError(
            f"disk graph {folder} is already partitioned into {parts} parts; ClusterConfig(num_parts="
            f"{cluster.num_parts}) cannot re-partition it (give num_parts={parts}, or a one-part folder)"
        )
    if cluster.train_only:
        raise ValueError(
            f"disk graph {folder} is already partitioned ({parts} parts); train_only needs a one-part folder "
            "to partition its training graph"
        )


class DiskClusterGLTTask:
    """Node classification on Cluster-GCN batches of a disk graph, as a GLT trainer.

    Args:
        source: a :class:`Graph` (written once to a part-ordered disk graph, cached by content) or a disk graph
            folder (one part: partitioned with METIS out of core, in a child process; several: used as it is).
        config: training options (accuracy only; ``normalize_features`` row-normalises a Graph's features before
            they are written, and each batch's rows of a folder's features).
        cluster: METIS parts and clusters per batch.
        split: split name (default: 'public' if present, else the seed's split in turn).
        cache_dir: where a Graph's disk graph is written (default: the partition cache).
        eval_clusters_per_batch: clusters per evaluation batch (default: ``cluster.clusters_per_batch``).

    Raises:
        ValueError: a metric other than accuracy, a directed graph, ``cluster.accumulate`` other than 1 (a disk
            search takes one optimizer step per batch), or, for a folder already partitioned, a ``num_parts`` other
            than its part count or ``train_only`` (it cannot be partitioned again).
    """

    name = "node"
    sparse_edge_masks = True  # a learnable edge mask gets the batch's rows as a sparse gradient (SparseAdam)

    @property
    def mask_folder(self) -> Path:
        """Where a learnable edge mask and its optimizer moments are memory-mapped: the graph's work folder."""
        return work_folder(self.folder())

    def __init__(
        self,
        source: Graph | str | os.PathLike[str],
        config: NodeTrainConfig | None = None,
        cluster: ClusterConfig | None = None,
        split: str | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        eval_clusters_per_batch: int | None = None,
    ) -> None:
        """Hold the options; the disk graph is written (or partitioned) on first use."""
        self.config = config or NodeTrainConfig()
        if self.config.metric != "acc":
            raise ValueError(f"a GLT search on a disk graph scores accuracy only, not {self.config.metric!r}")
        self.cluster = cluster or ClusterConfig()
        if self.cluster.accumulate != 1:
            raise ValueError(
                f"ClusterConfig(accumulate={self.cluster.accumulate}): a disk graph's search takes one optimizer "
                "step per batch (accumulate=1)"
            )
        if not isinstance(source, Graph):
            _check_folder_parts(Path(source), self.cluster)
        self.split = split
        self.cache_dir = cache_dir
        self.eval_q = eval_clusters_per_batch or self.cluster.clusters_per_batch
        self.metric = "acc"
        self._normalize_batches = False
        if isinstance(source, Graph):
            if source.directed:
                raise ValueError(f"GLT search needs an undirected graph; graph {source.name!r} is directed")
            self._source: Graph | Path | None = (
                row_normalize_features(source) if self.config.normalize_features else source
            )
            self.graph_name = source.name
        else:
            self._source = Path(source)
            self.graph_name = str(DiskGraph.read_meta(source)["name"])
            self._normalize_batches = self.config.normalize_features
        self._folder: Path | None = None
        self._view: DiskGLTGraph | None = None
        # CSR feature files give the model CSR rows, whose dropout draws over the stored entries only: the same
        # distribution, other draws than over dense rows, so such a search has a store key of its own
        self._csr_features = _csr_features(self._source)

    def __getstate__(self) -> dict[str, Any]:
        """The task for a worker: the folder's path, never the source Graph (the folder is written first)."""
        folder = self.folder()
        return {**self.__dict__, "_source": None, "_folder": folder, "_view": None}

    def describe(self) -> dict[str, Any]:
        """JSON-able hyperparameters (training and clustering), hashed into the store key."""
        train = asdict(self.config)
        if not train["sparse_features"]:
            del train["sparse_features"]
        return {
            "task": self.name,
            "train": train,
            "split": self.split,
            "batching": "cluster-disk",
            "cluster": {k: v for k, v in asdict(self.cluster).items() if k != "accumulate"},  # one step a batch
            "eval_clusters_per_batch": self.eval_q,
            "edge_masks": "ranked-within-exposure",  # as the in-memory trainer's (ClusterGLTTask.describe)
            **({"features": "csr"} if self._csr_features else {}),
        }

    def folder(self) -> Path:
        """The part-ordered disk graph (written or partitioned on first use, then found in the cache)."""
        if self._folder is None:
            if self._source is None:
                raise GraphError("the disk GLT task lost its source before its folder was written")
            from_folder = not isinstance(self._source, Graph)
            train_split = None
            if self.cluster.train_only and from_folder:  # METIS on the training nodes' subgraph (fits in memory)
                names = list(DiskGraph.read_meta(self._source)["splits"])
                train_split = self.split or ("public" if "public" in names else (names or [None])[0])
            self._folder = cluster_disk_graph(
                self._source,
                self.cluster.num_parts,
                train_split=train_split,
                metis_process=from_folder,  # METIS's memory goes back to the system when its process ends
                cache_dir=self.cache_dir,
            )
        return self._folder

    def graph_for_seed(self, seed_index: int, seed: int) -> DiskGLTGraph:
        """The unpruned disk graph (the same for every seed)."""
        if self._view is None:
            self._view = DiskGLTGraph(self.folder())
        return self._view

    def split_name(self, graph: DiskGLTGraph, seed_index: int) -> str:
        """The split a seed runs on: ``split`` if named, else 'public' if present, else the seed's in turn.

        Raises:
            GraphError: the graph has no such split, or none.
        """
        names = graph.splits
        if self.split is not None:
            if self.split not in names:
                raise GraphError(f"{graph.folder}: no split {self.split!r} (it has {names})")
            return self.split
        if not names:
            raise GraphError(f"{graph.folder}: the disk graph holds no split")
        return "public" if "public" in names else names[seed_index % len(names)]

    def _batch_graph(self, batch_graph: Graph) -> Graph:
        return row_normalize_features(batch_graph) if self._normalize_batches else batch_graph

    def _model_kwargs(
        self, graph: DiskGLTGraph, model: nn.Module, ids: torch.Tensor | None, edge_values: torch.Tensor | None
    ) -> dict[str, Any]:
        """A batch's edge arguments: positions of its edges in a mask over the kept edges (a pruned Graph's ids)."""
        wants_ids = bool(getattr(model, "selects_edges", False))
        if not wants_ids and edge_values is None:
            return {}
        if ids is None:
            raise GraphError(f"{graph.folder}: the batch carries no edge ids")
        position = graph.kept_rank(ids)
        kwargs: dict[str, Any] = {}
        if wants_ids:
            kwargs["edge_ids"] = position
        if edge_values is not None:
            kwargs["edge_values"] = edge_values[position.to(edge_values.device)]
        return kwargs

    def _eval_batches(self, graph: DiskGLTGraph, disk: DiskGraph) -> Iterator[tuple[Graph, torch.Tensor, Any]]:
        """Every part once, in ascending order, ``eval_q`` parts at a time, with the level's edges."""
        sizes = np.diff(disk.part_ptr)
        parts = [p for p in range(disk.num_parts) if sizes[p] > 0]
        for i in range(0, len(parts), self.eval_q):
            g, nodes, ids = disk.cut(parts[i : i + self.eval_q], graph.keep)
            yield self._batch_graph(g), nodes, ids

    def _evaluate(
        self,
        graph: DiskGLTGraph,
        disk: DiskGraph,
        model: nn.Module,
        split_name: str,
        edge_values: torch.Tensor | None,
    ) -> tuple[dict[str, float], float]:
        """``({"train_acc", "val_acc", "test_acc"}, validation loss)`` over the evaluation batches."""
        device = next(model.parameters()).device
        sums = torch.zeros(3, 3, dtype=torch.float64)  # (part, (correct, count, loss sum))
        model.eval()
        with torch.no_grad():
            for g, _, ids in self._eval_batches(graph, disk):
                logits = model(g, **self._model_kwargs(graph, model, ids, edge_values))
                y = g.y.to(logits.device)
                split = g.split(split_name)
                for j, part in enumerate(_PARTS):
                    index = split.index(part).to(logits.device)
                    if index.numel():
                        sums[j, 0] += float((logits[index].argmax(-1) == y[index]).sum())
                        sums[j, 1] += index.numel()
                        sums[j, 2] += float(F.cross_entropy(logits[index].double(), y[index], reduction="sum"))
        del device
        scores = {
            f"{part}_acc": float(sums[j, 0] / sums[j, 1]) if sums[j, 1] > 0 else float("nan")
            for j, part in enumerate(_PARTS)
        }
        if sums[1, 1] == 0:
            raise GraphError(f"{graph.folder}: the validation split {split_name!r} has no node")
        return scores, float(sums[1, 2] / sums[1, 1])

    def optimizers(self, model: nn.Module, *, steps: int = 1) -> list[torch.optim.Optimizer]:
        """The optimizers of ``model``: Adam over its dense parameters, SparseAdam over its sparse ones.

        The sparse ones are ``model.sparse_parameters()`` (a learnable edge mask built for this task), when the
        model has that method and it names any.

        Args:
            model: the model to train.
            steps: the optimizer steps of one epoch (:func:`~graphsparse.batching.glt.batch_optimizers`).

        Returns:
            ``[Adam]`` or ``[Adam, SparseAdam]``.
        """
        return batch_optimizers(model, self.config, steps=steps)

    def train_step(
        self,
        graph: DiskGLTGraph,
        model: nn.Module,
        batch: ClusterBatch,
        optimizers: list[torch.optim.Optimizer],
        split_name: str,
        *,
        edge_values: torch.Tensor | None = None,
        extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
        output_loss: OutputLoss | None = None,
        after_step: Callable[[nn.Module], None] | None = None,
        teacher: Teacher | None = None,
    ) -> torch.Tensor:
        """One optimizer step of ``model`` on ``batch`` (the model in training mode); every optimizer steps.

        Args:
            graph: the level's disk graph.
            model: the model.
            batch: a training batch of ``graph``'s kept edges.
            optimizers: from :meth:`optimizers`.
            split_name: the split whose training nodes give the loss.
            edge_values: as in :meth:`fit`.
            extra_loss: as in :meth:`fit`.
            output_loss: as in :meth:`fit`.
            after_step: as in :meth:`fit`.
            teacher: as in :meth:`fit`.

        Returns:
            The batch's loss, detached.
        """
        device = next(model.parameters()).device
        for optimizer in optimizers:
            optimizer.zero_grad()
        g = self._batch_graph(batch.graph)
        index = g.split(split_name).index("train").to(device)
        logits = model(g, **self._model_kwargs(graph, model, batch.edge_ids, edge_values))
        y = g.y.to(device)
        loss = F.cross_entropy(logits[index], y[index]) if index.numel() else logits.sum() * 0.0
        if teacher is not None and teacher.weight > 0:
            logits_of = teacher.logits
            rows = (
                logits_of.rows(batch.nodes)
                if isinstance(logits_of, DiskArray)
                else logits_of[batch.nodes.to(logits_of.device)]
            )
            loss = loss + teacher.weight * distillation_loss(logits, rows.to(device))
        if output_loss is not None:
            loss = loss + output_loss(logits)
        if extra_loss is not None:
            loss = loss + extra_loss(model)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        if after_step is not None:
            after_step(model)
        return loss.detach()

    def fit(
        self,
        graph: DiskGLTGraph,
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
        """Train ``model`` on the disk batches of ``graph``'s kept edges and keep its best validated epoch.

        The arguments and result are those of :meth:`graphsparse.tasks.glt.GLTTask.fit`; ``edge_values`` and a
        learnable edge mask are over the kept edges in id order (as a pruned in-memory graph numbers them). A
        model's ``sparse_parameters()`` are stepped by SparseAdam (:meth:`optimizers`).
        """
        config = self.config
        split_name = self.split_name(graph, seed_index)
        disk = graph.open()
        loader = DiskClusterLoader(disk, self.cluster.clusters_per_batch, seed=seed, keep=graph.keep)
        optimizers = self.optimizers(model, steps=len(loader))
        step_loss = penalty_per_step(extra_loss, len(loader))
        device = next(model.parameters()).device

        def train_epoch(epoch: int) -> torch.Tensor:
            model.train()
            total, batches = torch.zeros((), device=device), 0
            for batch in loader:
                loss = self.train_step(
                    graph,
                    model,
                    batch,
                    optimizers,
                    split_name,
                    edge_values=edge_values,
                    extra_loss=step_loss,
                    output_loss=output_loss,
                    after_step=after_step,
                    teacher=teacher,
                )
                total, batches = total + loss, batches + 1
            return total / max(batches, 1)

        def validate() -> Validation:
            scores, loss = self._evaluate(graph, disk, model, split_name, edge_values)
            return Validation(scores["val_acc"], loss)

        run = fit(
            model,
            train_epoch,
            validate,
            epochs=config.epochs,
            patience=config.patience,
            eval_every=self.cluster.eval_every,
            what=f"GLT Cluster-GCN {type(model).__name__} on disk graph {graph.name!r}, seed {seed}",
        )
        scores, _ = self._evaluate(graph, disk, model, split_name, edge_values)
        return {
            "val": scores["val_acc"],
            "test": scores["test_acc"],
            "best_epoch": run.best_epoch,
            "best_state": run.best_state,
        }

    def predict(self, graph: DiskGLTGraph, model: nn.Module) -> DiskArray:
        """The model's logits of every node (evaluation batches), written to a file beside the graph.

        The file is named by the model's weights and the graph (``teacher-<sha256>.npy``): a rerun of the
        same search finds it instead of writing another (at 2M nodes and 47 classes each is 376 MB), and it is
        renamed into place when whole.
        """
        digest = hashlib.sha256()
        for name, tensor in model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
        digest.update(graph.fingerprint().encode())
        path = work_folder(graph.folder) / f"teacher-{digest.hexdigest()[:32]}.npy"
        if path.is_file():
            found = np.load(path, mmap_mode="r")
            if found.shape[0] == graph.num_nodes and found.ndim == 2:
                return DiskArray(str(path), (int(found.shape[0]), int(found.shape[1])))
        disk = graph.open()
        out: np.memmap | None = None
        model.eval()
        with torch.no_grad():
            for g, nodes, ids in self._eval_batches(graph, disk):
                logits = model(g, **self._model_kwargs(graph, model, ids, None)).float().cpu().numpy()
                if out is None:
                    out = DiskArray.create(path.parent, (graph.num_nodes, logits.shape[1]), "teacher-partial")
                out[nodes.numpy()] = logits
        if out is None:
            raise GraphError(f"{graph.folder}: the disk graph has no node to predict")
        written = DiskArray.of(out)
        os.replace(written.path, path)
        return DiskArray(str(path), written.shape)


def batches_of(task: DiskClusterGLTTask, graph: DiskGLTGraph, seed: int) -> Iterator[ClusterBatch]:
    """One epoch's training batches of ``graph``'s kept edges (for inspection and tests)."""
    loader = DiskClusterLoader(graph.open(), task.cluster.clusters_per_batch, seed=seed, keep=graph.keep)
    yield from loader


def _csr_features(source: Graph | Path | None) -> bool:
    """Whether the disk graph of ``source`` keeps its features as CSR files (the writer's rule for a Graph)."""
    if isinstance(source, Graph):
        x = source.x
        return x is not None and csr_worth_it(int((x.view(torch.int32) != 0).sum()), x.numel())  # -0.0 is stored
    return source is not None and DiskGraph.read_meta(source).get("features") == "csr"
