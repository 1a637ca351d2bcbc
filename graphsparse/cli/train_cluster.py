"""``graphsparse train --batching cluster``: Cluster-GCN over seeds, every run stored as it finishes."""

from __future__ import annotations

import argparse
from typing import Any

from .node_setup import metric_row, record_node_run, resolved_model_options, summarize_node

__all__ = ["run_cluster_command"]


def run_cluster_command(args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any) -> dict:
    from ..batching import (
        DEFAULT_CLUSTERS_PER_BATCH,
        ClusterConfig,
        ClusterLoader,
        cluster_parts,
        default_parts,
        train_cluster_gcn,
    )
    from ..graph import GraphError
    from ..nn import MODELS, build_model
    from ..tasks.node import row_normalize_features, split_for_seed
    from ..utils import seed_everything
    from .train import resolved_node_setup

    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels for Cluster-GCN node classification")
    setup = resolved_node_setup(args, graph.name)
    train, options, metric, preset_name = setup["config"], setup["model_options"], setup["metric"], setup["preset"]
    parts = args.parts if args.parts is not None else default_parts(graph.num_nodes)
    q = args.clusters_per_batch if args.clusters_per_batch is not None else DEFAULT_CLUSTERS_PER_BATCH
    if q > parts:
        if args.clusters_per_batch is not None:
            raise ValueError(f"--clusters-per-batch ({q}) must be <= the number of parts ({parts})")
        q = parts
    config = ClusterConfig(num_parts=parts, clusters_per_batch=q)
    build_model(args.model, graph.num_features, graph.num_classes, **options)  # fail fast on bad options
    if train.normalize_features:
        graph = row_normalize_features(graph)
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(seeds, desc=f"Cluster-GCN {graph.name}", unit="seed", disable=args.no_progress, leave=False)
    for index, seed in enumerate(bar):
        split_name, split = split_for_seed(graph, index, args.split)
        node_parts = cluster_parts(graph, config, split.train)
        loader = ClusterLoader(graph, node_parts, config.clusters_per_batch, seed=seed, progress=False)
        seed_everything(seed)
        model = build_model(args.model, graph.num_features, graph.num_classes, **options).to(device)
        result = train_cluster_gcn(
            graph, model, loader, split, split_name, train, seed=seed, progress=not args.no_progress
        )
        row = metric_row(result.metrics(), metric)
        row.setdefault("seed", seed)
        row.setdefault("split", split_name)
        record = {
            "model_options": options,
            "train": vars(train),
            "cluster": vars(config),
            "split": split_name,
            "preset": preset_name,
        }
        record_node_run(store, "node-cluster", graph, args.model, row, metric, record, curves=result.history)
        rows.append(row)
    summary: dict[str, Any] = {
        "dataset": graph.name,
        "model": args.model,
        "seeds": len(seeds),
        "task": "node",
        "batching": "cluster",
        "parts": parts,
        "clusters_per_batch": q,
        "preset": preset_name,
    }
    summary.update(summarize_node(rows, metric))
    summary["config"] = {
        "preset": preset_name,
        "model_options": resolved_model_options(MODELS[args.model], options),
        "train": vars(train),
        "split": args.split,
        "batching": "cluster",
        "cluster": vars(config),
        "augment": None,
    }
    return summary
