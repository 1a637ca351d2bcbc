"""Data-parallel Cluster-GCN training over ``torch.distributed`` (DDP; gloo on CPU, nccl on GPU).

Every rank loads the graph, reads the same cached METIS partition, builds the model from the same seed and
draws the same cluster permutation each epoch; rank ``r`` of ``w`` trains on batches ``r, r + w, r + 2w, ...``
of that order and DDP averages the gradients of each step over the ranks, so a step sees ``w`` batches — what one
process computes with ``accumulate=w`` (gradient accumulation). Every rank evaluates on the full graph, so all
ranks pick the same epoch and end with identical parameters.

One machine, two processes (the test does this)::

    torchrun --standalone --nproc_per_node 2 -m graphsparse.distributed --dataset pubmed --parts 150 \\
        --clusters-per-batch 10 --epochs 100 --out runs/ddp

Several machines (run on each, ``--node_rank`` 0..N-1; the address is node 0's)::

    torchrun --nnodes 2 --nproc_per_node 4 --node_rank 0 --master_addr 10.0.0.1 --master_port 29500 \\
        -m graphsparse.distributed --dataset pubmed --parts 1500 --clusters-per-batch 20 --device cuda

With ``--device cuda`` each rank uses GPU ``LOCAL_RANK`` and the nccl backend.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["run_rank", "state_digest", "main"]


def state_digest(model: torch.nn.Module) -> str:
    """sha256 over a model's parameters (names and exact bytes)."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def run_rank(args: argparse.Namespace, rank: int = 0, world: int = 1, accumulate: int = 1) -> dict[str, Any]:
    """Train one rank (``world == 1``: a single process, optionally accumulating gradients); returns its result."""
    from .batching import ClusterConfig, ClusterLoader, metis_partition, train_cluster_gcn
    from .data import load_dataset
    from .nn import build_model
    from .tasks.node import NodeTrainConfig, row_normalize_features, split_for_seed
    from .utils import seed_everything

    torch.set_num_threads(args.threads)
    device = torch.device(args.device if args.device != "cuda" else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    graph = load_dataset(args.dataset)
    if args.normalize_features:
        graph = row_normalize_features(graph)
    config = ClusterConfig(num_parts=args.parts, clusters_per_batch=args.clusters_per_batch)
    split_name, split = split_for_seed(graph, 0, args.split)
    parts = metis_partition(graph, config.num_parts, recursive=config.recursive)
    loader = ClusterLoader(graph, parts, config.clusters_per_batch, seed=args.seed, ranks=(rank, world),
                           batch_multiple=accumulate)
    seed_everything(args.seed)
    model = build_model(args.model, graph.num_features, graph.num_classes, hidden_channels=args.hidden,
                        dropout=args.dropout).to(device)
    train = NodeTrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay)
    wrapped: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    result = train_cluster_gcn(graph, wrapped, loader, split, split_name, train, seed=args.seed, accumulate=accumulate)
    return {
        "rank": rank, "world": world, "accumulate": accumulate, "test_acc": result.test,
        "val_acc": result.val, "best_epoch": result.best_epoch, "epoch_seconds": result.epoch_seconds,
        "batches_per_epoch": len(loader), "params_sha256": state_digest(model),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m graphsparse.distributed", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", default="gcn", help="gcn or cluster-gcn (default: gcn)")
    p.add_argument("--parts", type=int, default=100)
    p.add_argument("--clusters-per-batch", type=int, default=10)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--normalize-features", action="store_true")
    p.add_argument("--split", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank (default: 1)")
    p.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (nccl, GPU LOCAL_RANK)")
    p.add_argument("--accumulate", type=int, default=1, help="single process: batches per optimizer step")
    p.add_argument("--out", default=None, help="folder for one JSON result per rank (rank<r>.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    try:
        result = run_rank(args, rank, world, accumulate=args.accumulate if world == 1 else 1)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / f"rank{rank}.json").write_text(json.dumps(result, indent=1))
    if rank == 0:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
