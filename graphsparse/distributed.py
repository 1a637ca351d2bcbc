r"""Data-parallel Cluster-GCN training over ``torch.distributed`` (DDP; gloo on CPU, nccl on GPU).

Every rank loads the graph, reads the same cached METIS partition, builds the model from the same seed and
draws the same cluster permutation each epoch; rank ``r`` of ``w`` trains on batches ``r, r + w, r + 2w, ...``
of that order and DDP averages the gradients of each step over the ranks, so a step sees ``w`` batches — what one
process computes with ``accumulate=w`` (gradient accumulation). Every rank evaluates on the full graph, so all
ranks pick the same epoch and end with identical parameters.

One machine, two processes (the test does this)::

    torchrun --standalone --nproc_per_node 2 -m graphsparse.cli.distributed --dataset pubmed --parts 150 \
        --clusters-per-batch 10 --epochs 100 --out runs/ddp

Several machines (run on each, ``--node_rank`` 0..N-1; the address is node 0's)::

    torchrun --nnodes 2 --nproc_per_node 4 --node_rank 0 --master_addr 10.0.0.1 --master_port 29500 \
        -m graphsparse.cli.distributed --dataset pubmed --parts 1500 --clusters-per-batch 20 --device cuda

With ``--device cuda`` each rank uses GPU ``LOCAL_RANK`` and the nccl backend.

**On disk** (``--on-disk``, or ``--disk FOLDER``): rank 0 writes the graph once as a disk graph ordered by its
METIS parts (:func:`graphsparse.batching.partitioned_disk_graph`, cached), the other ranks wait for its path, and
rank ``r`` then memory-maps only the parts of shard ``r`` (``w`` runs of consecutive parts) and trains on them
(:class:`graphsparse.batching.DiskClusterLoader`); evaluation is batched over the same shards and all-reduced.
No rank ever loads the whole graph (rank 0 does once, to write it, with ``--on-disk``; ``--disk`` takes a folder
written beforehand, e.g. by :func:`graphsparse.data.synthetic.synthetic_dcsbm_to_disk`, and METIS then reads only
its CSR). One process with ``--accumulate w`` trains on the same ``w`` shards and ends with identical parameters.
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

    dataset: str | None
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
    on_disk: bool = False  # write the dataset as a disk graph (rank 0, cached) and train from memory maps
    disk: str | None = None  # a disk graph folder (one part: partitioned by rank 0 first) instead of --dataset
    progress: bool = True  # rank 0 shows the epochs on a bar on stderr; the other ranks never do

    def __post_init__(self) -> None:
        """Check every field (counts >= 1, rates and probabilities in range, one known device, one data source).

        Raises:
            ValueError: naming the first field out of range; neither or both of ``dataset`` and ``disk`` given;
                ``normalize_features`` with ``disk``.
        """
        for name in ("parts", "clusters_per_batch", "epochs", "hidden", "threads", "accumulate"):
            setattr(self, name, check_int(name, getattr(self, name), 1))
        self.lr = check_float("lr", self.lr, 0.0, include_minimum=False)
        self.weight_decay = check_float("weight_decay", self.weight_decay, 0.0)
        self.dropout = check_probability("dropout", self.dropout)
        self.seed = check_int("seed", self.seed, 0)
        check_choice("device", self.device, ("cpu", "cuda"))
        if self.dataset is None and self.disk is None:
            raise ValueError("give a dataset (--dataset) or a disk graph folder (--disk)")
        if self.disk is not None and self.dataset is not None:
            raise ValueError("give either --dataset or --disk, not both")
        if self.disk is not None and self.normalize_features:
            raise ValueError("--normalize-features applies to --dataset; a disk graph keeps the features it holds")


def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def _prepare_disk(config: DistributedConfig, rank: int, world: int) -> str:
    """Rank 0 writes (or finds in the cache) the partitioned disk graph; every rank gets its path."""
    from .batching import cluster_disk_graph

    message = ""
    if rank == 0:
        try:
            if config.disk is not None:
                path = cluster_disk_graph(config.disk, config.parts)
            else:
                from .data import load_dataset
                from .tasks.node import row_normalize_features

                graph = load_dataset(config.dataset)
                if config.normalize_features:
                    graph = row_normalize_features(graph)
                path = cluster_disk_graph(graph, config.parts)
                del graph
            message = f"ok:{path}"
        except (ValueError, OSError) as err:  # GraphError is a ValueError
            message = f"error:{err}"
    if world > 1:
        import torch.distributed as dist

        box = [message]
        dist.broadcast_object_list(box, src=0)
        message = box[0]
    kind, _, value = message.partition(":")
    if kind != "ok":
        from .graph import GraphError

        raise GraphError(value if rank == 0 else f"rank 0 could not prepare the disk graph: {value}")
    return value


def _run_rank_disk(config: DistributedConfig, rank: int, world: int, accumulate: int) -> dict[str, Any]:
    """:func:`run_rank` on a disk graph: this rank maps only its shard's parts."""
    from .batching import DiskClusterLoader, shard_parts, train_cluster_gcn_disk
    from .data.diskgraph import DiskGraph

    args = config
    torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != "cuda" else f"cuda:{torchrun_env()[2]}")
    if device.type == "cuda":
        torch.cuda.set_device(device)  # nccl's object broadcast below runs on the current device: this rank's GPU
    folder = _prepare_disk(args, rank, world)
    num_parts = int(DiskGraph.read_meta(folder)["num_parts"])
    share = shard_parts(num_parts, world, rank) if world > 1 else range(num_parts)
    disk = DiskGraph.open(folder, share)
    splits = disk.splits
    if args.split is not None and args.split not in splits:
        raise ValueError(f"disk graph {folder} has no split {args.split!r} (it has {splits})")
    if not splits:
        raise ValueError(f"disk graph {folder} has no splits")
    split_name = args.split if args.split is not None else ("public" if "public" in splits else splits[0])
    loader = DiskClusterLoader(
        disk, args.clusters_per_batch, seed=args.seed, ranks=(rank, world), batch_multiple=accumulate
    )
    model, wrapped, train = _rank_model(args, disk.num_features, disk.num_classes, device, world)
    result = train_cluster_gcn_disk(
        wrapped, loader, split_name, train, seed=args.seed, accumulate=accumulate, progress=args.progress and rank == 0
    )
    return {
        "rank": rank,
        "world": world,
        "accumulate": accumulate,
        "disk": str(folder),
        "parts_opened": [share.start, share.stop],
        "rows_mapped": disk.mapped_rows,
        "num_nodes": disk.num_nodes,
        "test_acc": result.test,
        "val_acc": result.val,
        "best_epoch": result.best_epoch,
        "epoch_seconds": result.epoch_seconds,
        "batches_per_epoch": len(loader),
        "params_sha256": state_digest(model),
        "peak_rss_gb": _peak_rss_gb(),
    }


def _rank_model(
    args: DistributedConfig, num_features: int, num_classes: int, device: torch.device, world: int
) -> tuple[torch.nn.Module, torch.nn.Module, Any]:
    """Build the rank's model, the module training steps through and the training config.

    The model is built after ``seed_everything``: every rank starts from the same weights; the module training
    steps through is DDP-wrapped when ``world > 1``.
    """
    from .nn import build_model
    from .tasks.node import NodeTrainConfig
    from .utils import seed_everything

    seed_everything(args.seed)
    model = build_model(args.model, num_features, num_classes, hidden_channels=args.hidden, dropout=args.dropout).to(
        device
    )
    train = NodeTrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay)
    wrapped: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model, wrapped, train


def run_rank(config: DistributedConfig, rank: int = 0, world: int = 1, accumulate: int = 1) -> dict[str, Any]:
    """Train one rank (``world == 1``: a single process, optionally accumulating gradients); returns its result."""
    from .batching import ClusterConfig, ClusterLoader, metis_partition, train_cluster_gcn
    from .data import load_dataset
    from .tasks.node import row_normalize_features, split_for_seed

    if config.on_disk or config.disk is not None:
        return _run_rank_disk(config, rank, world, accumulate)
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
    model, wrapped, train = _rank_model(args, graph.num_features, graph.num_classes, device, world)
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
    """Run this process's rank as torchrun set it up (``WORLD_SIZE``/``RANK``; one process without them).

    Writes ``rank<r>.json`` under ``config.out`` when given.

    Args:
        config: the run's settings.

    Returns:
        The rank's result.
    """
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
