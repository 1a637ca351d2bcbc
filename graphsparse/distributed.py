"""Data-parallel Cluster-GCN training over ``torch.distributed`` (DDP; gloo on CPU, nccl on GPU).

Every rank loads the graph, reads the same cached METIS partition, builds the model from the same seed and
draws the same cluster permutation each epoch; rank ``r`` of ``w`` trains on batches ``r, r + w, r + 2w, ...``
of that order and DDP averages the gradients of each step over the ranks, so a step sees ``w`` batches — what one
process computes with ``accumulate=w`` (gradient accumulation). Every rank evaluates on the full graph, so all
ranks pick the same epoch and end with identical parameters.

One machine, two processes (the test does this)::

    torchrun --standalone --nproc_per_node 2 -m graphsparse.cli.distributed --dataset pubmed --parts 150 \\
        --clusters-per-batch 10 --epochs 100 --out runs/ddp

Several machines (run on each, ``--node_rank`` 0..N-1; the address is node 0's)::

    torchrun --nnodes 2 --nproc_per_node 4 --node_rank 0 --master_addr 10.0.0.1 --master_port 29500 \\
        -m graphsparse.cli.distributed --dataset pubmed --parts 1500 --clusters-per-batch 20 --device cuda

With ``--device cuda`` each rank uses GPU ``LOCAL_RANK`` and the nccl backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import torchrun_env
from .validation import check_choice, check_float, check_int, check_probability

__all__ = ["DistributedConfig", "run_rank", "launch", "state_digest"]


def state_digest(model: torch.nn.Module) -> str:
    """sha256 over a model's parameters (names and exact bytes)."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass
class DistributedConfig:
    """One data-parallel Cluster-GCN run (the options of ``python -m graphsparse.cli.distributed``)."""

    dataset: str
    model: str = "gcn"
    parts: int = 100
    clusters_per_batch: int = 10
    epochs: int = 100
    lr: float = 0.01
    weight_decay: float = 5e-4
    hidden: int = 64
    dropout: float = 0.5
    normalize_features: bool = False
    split: str | None = None
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    accumulate: int = 1
    out: str | None = None
    progress: bool = True  # rank 0 shows the epochs on a bar on stderr; the other ranks never do

    def __post_init__(self) -> None:
        for name in ("parts", "clusters_per_batch", "epochs", "hidden", "threads", "accumulate"):
            setattr(self, name, check_int(name, getattr(self, name), 1))
        self.lr = check_float("lr", self.lr, 0.0, include_minimum=False)
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0)
        self.dropout = check_probability("dropout", self.dropout)
        self.seed = check_int("seed", self.seed, 0)
        check_choice("device", self.device, ("cpu", "cuda"))


def run_rank(config: DistributedConfig, rank: int = 0, world: int = 1, accumulate: int = 1) -> dict[str, Any]:
    """Train one rank (``world == 1``: a single process, optionally accumulating gradients); returns its result."""
    from .batching import ClusterConfig, ClusterLoader, metis_partition, train_cluster_gcn
    from .data import load_dataset
    from .nn import build_model
    from .tasks.node import NodeTrainConfig, row_normalize_features, split_for_seed
    from .utils import seed_everything

    args = config
    torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != "cuda" else f"cuda:{torchrun_env()[2]}")
    graph = load_dataset(args.dataset)
    if args.normalize_features:
        graph = row_normalize_features(graph)
    cluster = ClusterConfig(num_parts=args.parts, clusters_per_batch=args.clusters_per_batch)
    split_name, split = split_for_seed(graph, 0, args.split)
    parts = metis_partition(graph, cluster.num_parts, recursive=cluster.recursive)
    loader = ClusterLoader(
        graph, parts, cluster.clusters_per_batch, seed=args.seed, ranks=(rank, world), batch_multiple=accumulate
    )
    seed_everything(args.seed)
    model = build_model(
        args.model, graph.num_features, graph.num_classes, hidden_channels=args.hidden, dropout=args.dropout
    ).to(device)
    train = NodeTrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay)
    wrapped: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    result = train_cluster_gcn(
        graph,
        wrapped,
        loader,
        split,
        split_name,
        train,
        seed=args.seed,
        accumulate=accumulate,
        progress=args.progress and rank == 0,
    )
    return {
        "rank": rank,
        "world": world,
        "accumulate": accumulate,
        "test_acc": result.test,
        "val_acc": result.val,
        "best_epoch": result.best_epoch,
        "epoch_seconds": result.epoch_seconds,
        "batches_per_epoch": len(loader),
        "params_sha256": state_digest(model),
    }


def launch(config: DistributedConfig) -> dict[str, Any]:
    """Run this process's rank as torchrun set it up (``WORLD_SIZE``/``RANK``; one process without them), write
    ``rank<r>.json`` under ``config.out`` when given, and return the result."""
    rank, world, _ = torchrun_env()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("nccl" if config.device == "cuda" else "gloo")
    try:
        result = run_rank(config, rank, world, accumulate=config.accumulate if world == 1 else 1)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if config.out:
        Path(config.out).mkdir(parents=True, exist_ok=True)
        (Path(config.out) / f"rank{rank}.json").write_text(json.dumps(result, indent=1))
    return result
