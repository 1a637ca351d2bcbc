"""``graphsparse train --batching cluster``: Cluster-GCN over seeds, every run stored."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from ..graph import Graph, GraphError
from .loader import ClusterLoader
from .partition import metis_partition
from .train import ClusterConfig, train_cluster_gcn

__all__ = ["run_cluster_command", "cluster_parts"]


def cluster_parts(graph: Graph, config: ClusterConfig, split_train: torch.Tensor | None = None) -> torch.Tensor:
    """The (cached) METIS partition the loader batches over."""
    mask = split_train if config.train_only else None
    return metis_partition(graph, config.num_parts, recursive=config.recursive, node_mask=mask)


def default_parts(num_nodes: int) -> int:
    """1500 parts on large graphs (the paper's Amazon2M setting), about 50 nodes per part on small ones."""
    return max(1, min(1500, num_nodes // 50))


def run_cluster_command(args: argparse.Namespace, graph: Graph, seeds: list[int], store: Any, device: Any) -> dict:
    from ..cli import model_options_from_args, node_config_from_args, summarize
    from ..nn import build_model
    from ..nn.presets import resolve_preset
    from ..tasks.node import row_normalize_features, split_for_seed
    from ..utils import seed_everything

    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels for Cluster-GCN node classification")
    preset = resolve_preset(args.model, graph.name, args.preset)
    train = node_config_from_args(args, preset["train"])
    options = model_options_from_args(args, preset["model"])
    parts = args.parts or default_parts(graph.num_nodes)
    q = min(args.clusters_per_batch or 20, parts)
    config = ClusterConfig(num_parts=parts, clusters_per_batch=q)
    build_model(args.model, graph.num_features, graph.num_classes, **options)  # fail fast on bad options
    if train.normalize_features:
        graph = row_normalize_features(graph)
    rows = []
    for index, seed in enumerate(seeds):
        split_name, split = split_for_seed(graph, index, args.split)
        node_parts = cluster_parts(graph, config, split.train)
        loader = ClusterLoader(graph, node_parts, config.clusters_per_batch, seed=seed, progress=False)
        seed_everything(seed)
        model = build_model(args.model, graph.num_features, graph.num_classes, **options).to(device)
        result = train_cluster_gcn(graph, model, loader, split, split_name, train, seed=seed)
        metrics = result.metrics()
        store.record_run(
            "node-cluster",
            graph.name,
            args.model,
            seed,
            {"model_options": options, "train": vars(train), "cluster": vars(config), "split": split_name},
            {k: metrics[k] for k in ("train_acc", "val_acc", "test_acc", "best_epoch")},
            {"seconds": result.seconds, "epoch_seconds": result.epoch_seconds},
        )
        rows.append(metrics)
    summary: dict[str, Any] = {"dataset": graph.name, "model": args.model, "seeds": len(seeds), "task": "node",
                               "batching": "cluster", "parts": parts, "clusters_per_batch": q}
    summary.update(summarize(rows, ["test_acc", "val_acc", "train_acc", "epoch_seconds"]))
    summary["runs"] = [{k: r[k] for k in ("seed", "split", "val_acc", "test_acc", "best_epoch")} for r in rows]
    return summary
