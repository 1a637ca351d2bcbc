"""What ``graphsparse glt``'s options resolve to.

The methods with their defaults, the schedule, the preset's training configuration and model, and the trainer (full
batch, Cluster-GCN in memory or on disk, link prediction).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "method_options_by_flag",
    "option_owners",
    "configured_methods",
    "glt_schedule",
    "resolve_glt",
    "node_trainer",
    "disk_graph",
    "link_setup",
]


def method_options_by_flag() -> dict[str, Any]:
    """Every option a registered method declares, by destination (the first method declaring it wins)."""
    from ..sparsify.methods import method_class, method_names

    out: dict[str, Any] = {}
    for name in method_names():
        for option in method_class(name).options:
            out.setdefault(option.name, option)
    return out


def option_owners(dest: str) -> list[str]:
    """The registered methods that declare the option ``dest`` (for the message refusing it elsewhere)."""
    from ..sparsify.methods import method_class, method_names

    return [n for n in method_names() if any(o.name == dest for o in method_class(n).options)]


def configured_methods(
    args: argparse.Namespace, methods: list[str], setup: Any, defaults: dict[str, Any] | None = None
) -> list[Any]:
    """The methods with their defaults for ``setup`` (dataset, preset, task) and the options given.

    Args:
        args: the parsed options (a method's option not given is None).
        methods: method names.
        setup: the search's :class:`~graphsparse.sparsify.methods.MethodSetup`.
        defaults: option values a preset fixes (its ``glt.method_options``), used where an option is not given.

    Returns:
        The configured method objects, in order.
    """
    from ..sparsify.methods import method_class

    defaults = defaults or {}
    out = []
    for name in methods:
        cls = method_class(name)
        values = {}
        for o in cls.options:
            value = getattr(args, o.name, None)
            values[o.name] = defaults.get(o.name) if value is None else value
        out.append(cls.configure(setup, **values))
    return out


def dataset_key(args: argparse.Namespace) -> str:
    """The name a search looks presets up by: a registered dataset's canonical name.

    A ``--disk`` folder's own name (its ``meta.json``) when it names no registered dataset, so a user's graph gets
    the model's defaults rather than an "unknown dataset" error.
    """
    from ..data import canonical_name
    from ..graph import GraphError

    try:
        return canonical_name(args.dataset)
    except GraphError:
        if args.disk is None:
            raise
        return str(args.dataset)


def glt_schedule(args: argparse.Namespace, task: str) -> tuple[int, float, float]:
    """``(rounds, pg, pw)`` of a search: the options given, else the node preset's (``teddy-ogb``), else 20/0.05/0.2.

    Args:
        args: the parsed options of one (dataset, model) search.
        task: ``'node'`` or ``'link'`` (link searches have no preset).

    Returns:
        The number of rounds and the graph and weight pruning rates per round.
    """
    schedule: dict[str, Any] = {}
    if task == "node":
        from ..presets import default_preset, resolve_preset

        dataset = dataset_key(args)
        name = args.preset if args.preset is not None else default_preset(args.model, dataset, "glt")
        schedule = resolve_preset(args.model, dataset, name)["glt"]
    rounds = args.rounds if args.rounds is not None else int(schedule.get("rounds", 20))
    pg = args.pg if args.pg is not None else float(schedule.get("pg", 0.05))
    pw = args.pw if args.pw is not None else float(schedule.get("pw", 0.2))
    return rounds, pg, pw


def resolve_glt(args: argparse.Namespace, dataset: str, methods: list[str]) -> dict[str, Any]:
    """Preset name, node training config, model options and configured methods of a node-task search."""
    from ..presets import default_preset, resolve_preset
    from ..sparsify.methods import MethodSetup
    from ..tasks.node import NodeTrainConfig
    from .node_setup import dataset_metric

    preset_name = args.preset if args.preset is not None else default_preset(args.model, dataset, "glt")
    preset = resolve_preset(args.model, dataset, preset_name)
    train = dict(preset["train"])
    if args.epochs is not None:
        train["epochs"] = args.epochs
    if getattr(args, "sparse_features", None):
        train["sparse_features"] = True
    train["metric"] = dataset_metric(dataset)
    model_options = dict(preset["model"])
    if args.hidden is not None:
        model_options["hidden_channels"] = args.hidden
    method_defaults = preset["glt"].get("method_options", {})
    preset = None if preset_name is None or preset_name.lower() == "none" else preset_name
    setup = MethodSetup(dataset=dataset, preset=preset, task="node")
    return {
        "preset": preset,
        "config": NodeTrainConfig(**train),
        "model_options": model_options,
        "methods": configured_methods(args, methods, setup, method_defaults),
    }


def node_trainer(args: argparse.Namespace, graph: Any, config: Any) -> Any:
    """The node trainer of the search: full batch, or Cluster-GCN batches (``--batching cluster``)."""
    from ..tasks.glt import NodeGLTTask

    if args.batching != "cluster":
        return NodeGLTTask(graph, config, args.split)
    from ..batching import DEFAULT_CLUSTERS_PER_BATCH, ClusterConfig, default_parts
    from ..batching.glt import ClusterGLTTask
    from .train_cluster import partitioned_folder_parts

    fixed = partitioned_folder_parts(args, args.disk, int(graph.meta["num_parts"])) if args.disk is not None else None
    parts = fixed or (args.parts if args.parts is not None else default_parts(graph.num_nodes))
    q = args.clusters_per_batch if args.clusters_per_batch is not None else min(DEFAULT_CLUSTERS_PER_BATCH, parts)
    if q > parts:
        raise ValueError(f"--clusters-per-batch ({q}) must be <= the number of parts ({parts})")
    if args.train_only and args.disk is None:
        raise ValueError("--train-only applies to --disk FOLDER (METIS of a folder's training graph)")
    accumulate = getattr(args, "accumulate", None)
    if accumulate not in (None, 1) and (args.on_disk or args.disk is not None):
        raise ValueError(f"--accumulate {accumulate}: a disk graph's search takes one optimizer step per batch")
    cluster = ClusterConfig(
        num_parts=parts,
        clusters_per_batch=q,
        train_only=bool(args.train_only),
        accumulate=1 if accumulate is None else accumulate,
    )
    if args.on_disk or args.disk is not None:
        from ..batching.disk_glt import DiskClusterGLTTask

        source = graph.folder if args.disk is not None else graph
        return DiskClusterGLTTask(source, config, cluster, args.split)
    return ClusterGLTTask(graph, config, cluster, args.split)


def disk_graph(args: argparse.Namespace) -> Any:
    """The ``--disk`` folder as the search's graph (its meta only: nothing of the graph is read)."""
    from ..data.diskview import DiskGLTGraph
    from ..graph import GraphError

    if args.task == "link":
        raise ValueError(f"--disk {args.disk}: a disk graph is searched for node classification only")
    graph = DiskGLTGraph(args.disk)
    if graph.num_classes < 2:
        raise GraphError(
            f"--disk {args.disk}: meta.json says num_classes={graph.num_classes}; node classification needs 2 or more"
        )
    return graph


def link_setup(args: argparse.Namespace, graph: Any) -> tuple[Any, Any, Any]:
    """Model factory, training config and task of ``--task link`` (GAE-style: encoder + inner product, AUC)."""
    from ..nn.gae import build_link_model
    from ..presets import LINK_DEFAULTS
    from ..tasks.link import LinkTrainConfig
    from ..tasks.link_glt import LinkGLTTask

    model_name = "gae" if args.model == "gcn" else args.model
    in_channels = graph.num_features if graph.x is not None else None
    options = {} if args.hidden is None else {"hidden_channels": args.hidden}
    build_link_model(model_name, in_channels, graph.num_nodes, **options)  # fail fast on an unknown model

    def factory():
        return build_link_model(model_name, in_channels, graph.num_nodes, **options)

    epochs = LINK_DEFAULTS["train"]["epochs"] if args.epochs is None else args.epochs
    config = LinkTrainConfig(epochs=epochs)
    return factory, config, LinkGLTTask(graph, config)
