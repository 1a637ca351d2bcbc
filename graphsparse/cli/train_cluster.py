"""``graphsparse train --batching cluster``: Cluster-GCN over seeds, every run stored as it finishes.

In memory (:func:`run_cluster_command`), or from a disk graph through memory maps (:func:`run_cluster_disk_command`,
``--on-disk`` / ``--disk FOLDER``): one process trains on the one shard of all parts
(:class:`~graphsparse.batching.DiskClusterLoader`) and evaluates in batches
(:func:`~graphsparse.batching.evaluate_disk`: edges between evaluation batches are not used).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from .node_setup import metric_row, record_node_run, resolved_model_options, summarize_node
from .train_node import resolved_node_setup

__all__ = ["run_cluster_command", "run_cluster_disk_command"]


def _cluster_config(args: argparse.Namespace, num_nodes: int, parts: int | None = None) -> Any:
    """The Cluster-GCN config of ``args``: --parts and --clusters-per-batch.

    --parts is ``parts`` when the data fixes it, by default from the graph's size; the default --clusters-per-batch
    is capped at the number of parts, an explicit value above it refused (ValueError).
    """
    from ..batching import DEFAULT_CLUSTERS_PER_BATCH, ClusterConfig, default_parts

    if parts is None:
        parts = args.parts if args.parts is not None else default_parts(num_nodes)
    q = args.clusters_per_batch if args.clusters_per_batch is not None else DEFAULT_CLUSTERS_PER_BATCH
    if q > parts:
        if args.clusters_per_batch is not None:
            raise ValueError(f"--clusters-per-batch ({q}) must be <= the number of parts ({parts})")
        q = parts
    return ClusterConfig(
        num_parts=parts,
        clusters_per_batch=q,
        train_only=bool(getattr(args, "train_only", False)),
        accumulate=getattr(args, "accumulate", 1),
    )


def _summary(
    args: argparse.Namespace, name: str, seeds: list[int], rows: list[dict], setup: dict[str, Any], config: Any
) -> dict[str, Any]:
    from ..nn import MODELS

    summary: dict[str, Any] = {
        "dataset": name,
        "model": args.model,
        "seeds": len(seeds),
        "task": "node",
        "batching": "cluster",
        "parts": config.num_parts,
        "clusters_per_batch": config.clusters_per_batch,
        "preset": setup["preset"],
    }
    summary.update(summarize_node(rows, setup["metric"]))
    summary["config"] = {
        "preset": setup["preset"],
        "model_options": resolved_model_options(MODELS[args.model], setup["model_options"]),
        "train": vars(setup["config"]),
        "split": args.split,
        "batching": "cluster",
        "cluster": vars(config),
        "augment": None,
    }
    return summary


def _record_run(
    store: Any,
    data: Any,
    model: str,
    result: Any,
    seed: int,
    split_name: str,
    setup: dict[str, Any],
    config: Any,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store one seed's Cluster-GCN run (kind ``node-cluster``; ``extra`` adds to its record) and return its row."""
    row = metric_row(result.metrics(), setup["metric"])
    row.setdefault("seed", seed)
    row.setdefault("split", split_name)
    record = {
        "model_options": setup["model_options"],
        "train": vars(setup["config"]),
        "cluster": vars(config),
        "split": split_name,
        "preset": setup["preset"],
        **(extra or {}),
    }
    record_node_run(store, "node-cluster", data, model, row, setup["metric"], record, curves=result.history)
    return row


def run_cluster_command(args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any) -> dict:
    """Cluster-GCN in memory over seeds, each seed's run recorded in ``store`` as it finishes.

    Args:
        args: the checked ``train`` options.
        graph: the loaded dataset.
        seeds: the seeds to train.
        store: the results store.
        device: the torch device.

    Returns:
        The command's summary (flat scores, ``runs``, the resolved ``config`` with its ``cluster`` settings).

    Raises:
        GraphError: the dataset has no class labels.
    """
    from ..batching import ClusterLoader, cluster_parts, train_cluster_gcn
    from ..graph import GraphError
    from ..nn import build_model
    from ..tasks.node import row_normalize_features, split_for_seed
    from ..utils import seed_everything

    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels for Cluster-GCN node classification")
    setup = resolved_node_setup(args, graph.name)
    train, options = setup["config"], setup["model_options"]
    config = _cluster_config(args, graph.num_nodes)
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
            graph,
            model,
            loader,
            split,
            split_name,
            train,
            seed=seed,
            eval_every=config.eval_every,
            progress=not args.no_progress,
            accumulate=args.accumulate or len(loader),
        )
        rows.append(_record_run(store, graph, args.model, result, seed, split_name, setup, config))
    return _summary(args, graph.name, seeds, rows, setup, config)


@dataclasses.dataclass(frozen=True)
class _DataIdentity:
    """What a stored run names of its data, without holding the graph: its name and fingerprint."""

    name: str
    digest: str

    def fingerprint(self) -> str:
        return self.digest


@dataclasses.dataclass
class _DiskSource:
    """The data of an on-disk run.

    A Graph (``--on-disk``) or a disk graph folder (``--disk``), what it holds, and the ``--disk`` folder's part
    count (1 when it is still to be partitioned).
    """

    source: Any
    name: str
    num_nodes: int
    num_features: int
    num_classes: int
    splits: list[str]
    folder_parts: int = 1

    def identity(self) -> _DataIdentity:
        if isinstance(self.source, Path):
            from ..data.diskgraph import folder_fingerprint

            return _DataIdentity(self.name, "disk:" + folder_fingerprint(self.source))
        return _DataIdentity(self.name, self.source.fingerprint())


def _disk_source(args: argparse.Namespace) -> _DiskSource:
    """``--disk FOLDER`` read from its ``meta.json`` only (nothing mapped yet), or ``--dataset`` loaded."""
    if args.disk is not None:
        from ..data.diskgraph import DiskGraph
        from ..graph import GraphError

        try:
            meta = DiskGraph.read_meta(args.disk)
        except GraphError as err:
            raise GraphError(f"--disk: {err}") from None
        counts = (int(meta[key]) for key in ("num_nodes", "num_features", "num_classes"))
        return _DiskSource(Path(args.disk), str(meta["name"]), *counts, list(meta["splits"]), int(meta["num_parts"]))
    from ..data import load_dataset

    graph = load_dataset(args.dataset)
    return _DiskSource(graph, graph.name, graph.num_nodes, graph.num_features, graph.num_classes, list(graph.splits))


def _seed_splits(args: argparse.Namespace, data: _DiskSource, count: int) -> list[str]:
    """The split of each seed, as :func:`graphsparse.tasks.node.split_for_seed` picks it for a Graph."""
    from ..graph import GraphError

    where = f"disk graph {data.source}" if args.disk is not None else f"dataset {data.name!r}"
    if args.split is not None:
        if args.split not in data.splits:
            raise GraphError(f"--split {args.split}: {where} has no split {args.split!r} (it has {data.splits})")
        return [args.split] * count
    if not data.splits:
        raise GraphError(f"{where} has no splits to train and evaluate on")
    if "public" in data.splits:
        return ["public"] * count
    return [data.splits[i % len(data.splits)] for i in range(count)]


def _disk_parts(args: argparse.Namespace, data: _DiskSource) -> int | None:
    """The part count a partitioned ``--disk`` folder fixes (None: METIS runs with --parts)."""
    return partitioned_folder_parts(args, data.source, data.folder_parts)


def partitioned_folder_parts(args: argparse.Namespace, folder: Any, folder_parts: int) -> int | None:
    """The part count of a partitioned ``--disk`` folder (used as it is), or None for a one-part folder.

    Raises:
        ValueError: --parts other than the folder's count, or --train-only: either would re-partition it.
    """
    if folder_parts <= 1:
        return None
    if args.parts is not None and args.parts != folder_parts:
        raise ValueError(f"--parts {args.parts}: disk graph {folder} is already partitioned into {folder_parts} parts")
    if args.train_only:
        raise ValueError(
            f"--train-only: disk graph {folder} is already partitioned ({folder_parts} parts); "
            "give a one-part folder to partition its training graph"
        )
    return folder_parts


def run_cluster_disk_command(args: argparse.Namespace, seeds: list[int], store: Any, device: Any) -> dict:
    """Cluster-GCN from a part-ordered disk graph (``--on-disk`` / ``--disk``) over seeds.

    Args:
        args: the checked ``train`` options.
        seeds: the seeds to train; each seed's run is recorded in ``store`` as it finishes.
        store: the results store.
        device: the torch device.

    Returns:
        The in-memory path's summary plus ``on_disk`` and the disk graph folder(s).

    Raises:
        ValueError: an option the disk path cannot honour (a metric other than accuracy, a re-partition).
    """
    from ..batching import DiskClusterLoader, cluster_disk_graph, train_cluster_gcn_disk
    from ..data.diskgraph import DiskGraph
    from ..graph import GraphError
    from ..nn import build_model
    from ..utils import seed_everything

    data = _disk_source(args)
    setup = resolved_node_setup(args, data.name)
    train, options, metric = setup["config"], setup["model_options"], setup["metric"]
    if metric != "acc":
        raise ValueError(f"--metric {metric}: Cluster-GCN on disk evaluates accuracy only ({data.name!r})")
    if train.normalize_features and args.disk is None:  # the disk graph holds the normalised features
        from ..tasks.node import row_normalize_features

        data.source = row_normalize_features(data.source)
    elif train.normalize_features:  # a disk graph keeps the features it holds
        setup["config"] = train = dataclasses.replace(train, normalize_features=False)
    if data.num_classes < 2:
        raise GraphError(f"{data.name!r} has no class labels for Cluster-GCN node classification")
    config = _cluster_config(args, data.num_nodes, _disk_parts(args, data))
    given = args.eval_clusters_per_batch
    eval_clusters = given if given is not None else config.clusters_per_batch  # what evaluation batches take
    build_model(args.model, data.num_features, data.num_classes, **options)  # fail fast on bad options
    split_names = _seed_splits(args, data, len(seeds))
    # every disk graph the seeds need is written (or found in the cache) before any training; a folder's METIS
    # runs in a child process, whose working memory goes back to the system when it ends
    folders = {
        split: cluster_disk_graph(
            data.source,
            config.num_parts,
            train_split=split if config.train_only else None,
            metis_process=args.disk is not None,
        )
        for split in dict.fromkeys(split_names)
    }
    identity = data.identity()
    data.source = None  # from here on only memory maps: the loaded dataset can go
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(seeds, desc=f"Cluster-GCN {data.name} on disk", unit="seed", disable=args.no_progress, leave=False)
    for seed, split_name in zip(bar, split_names):
        disk = DiskGraph.open(folders[split_name])
        loader = DiskClusterLoader(disk, config.clusters_per_batch, seed=seed)
        seed_everything(seed)
        model = build_model(args.model, disk.num_features, disk.num_classes, **options).to(device)
        result = train_cluster_gcn_disk(
            model,
            loader,
            split_name,
            train,
            seed=seed,
            eval_every=config.eval_every,
            progress=not args.no_progress,
            eval_clusters_per_batch=args.eval_clusters_per_batch,
        )
        on_disk = {
            "on_disk": True,
            "disk": _disk_record(disk),
            "eval_clusters_per_batch": eval_clusters,
        }
        rows.append(_record_run(store, identity, args.model, result, seed, split_name, setup, config, on_disk))
    summary = _summary(args, data.name, seeds, rows, setup, config)
    summary["on_disk"] = True
    summary["disk"] = [str(folder) for folder in dict.fromkeys(folders.values())]
    summary["config"]["on_disk"] = True
    summary["config"]["eval_clusters_per_batch"] = eval_clusters
    summary["config"]["disk"] = [_disk_record(DiskGraph.open(folder)) for folder in dict.fromkeys(folders.values())]
    return summary


def _disk_record(disk: Any) -> dict[str, Any]:
    """What identifies a disk graph's partition in a run record (not its path: the cache folder may move)."""
    info = disk.meta.get("info", {})
    return {
        "num_parts": disk.num_parts,
        "key": info.get("key"),
        "metis_parts": info.get("metis_parts"),
        "train_split": info.get("train_split"),
    }
