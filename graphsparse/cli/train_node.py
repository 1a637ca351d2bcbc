"""``graphsparse train`` on full batches: the node path's resolved setup and its run over seeds.

The preset, training config and model options of a node run (:func:`resolved_node_setup`) are shared by the
full-batch path here and the Cluster-GCN paths (:mod:`.train_cluster`); both import this module, and neither
imports :mod:`.train` (the parser and dispatcher that imports them).
"""

from __future__ import annotations

import argparse
from typing import Any

from .node_setup import (
    dataset_metric,
    metric_row,
    model_options,
    node_config,
    record_node_run,
    resolved_model_options,
    summarize_node,
)

__all__ = ["check_decay", "resolved_node_setup", "run_node_command"]


def check_decay(model_name: str, model: Any, config: Any) -> None:
    """Refuse first-layer-only weight decay for a model whose first layer is unknown.

    Such a model would decay every parameter instead: silently another protocol.

    Args:
        model_name: the model's registered name (for the message).
        model: the built model.
        config: the node training config (``decay_first_layer_only``, ``weight_decay``).

    Raises:
        ValueError: first-layer decay is asked for and :func:`graphsparse.train.first_layer` finds no first layer.
    """
    from ..train import first_layer

    if config.decay_first_layer_only and config.weight_decay and first_layer(model) is None:
        raise ValueError(
            f"--decay first-layer: model {model_name!r} ({type(model).__name__}) has no first layer graphsparse can "
            "find (no first_layer() method, convs or lins list); use --decay all"
        )


def resolved_node_setup(args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    """The preset name, training config and model options a node run of ``args`` would use.

    Args:
        args: the checked ``train`` (or ``glt``) options.
        dataset: the canonical dataset name.

    Returns:
        ``{"preset": name, "config": NodeTrainConfig, "model_options": dict, "metric": "acc" | "roc_auc"}``.
    """
    from ..presets import default_preset, resolve_preset

    preset_name = args.preset if args.preset is not None else default_preset(args.model, dataset)
    preset = resolve_preset(args.model, dataset, preset_name)
    metric = dataset_metric(dataset, args.metric)
    return {
        "preset": preset_name,
        "config": node_config(args, preset["train"], metric),
        "model_options": model_options(args, preset["model"]),
        "metric": metric,
    }


def run_node_command(
    args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any, executor: Any = None
) -> dict:
    """Full-batch node classification over seeds; each run recorded in ``store`` as it finishes.

    Args:
        args: the checked ``train`` options.
        graph: the loaded dataset.
        seeds: the seeds to train.
        store: the results store each run is written to.
        device: the torch device.
        executor: a Ray executor for the seeds (None: one after the other here).

    Returns:
        The command's summary (flat scores, ``runs`` and the resolved ``config``).

    Raises:
        GraphError: the dataset has no class labels.
    """
    from ..graph import GraphError
    from ..nn import MODELS, build_model
    from ..tasks.node import run_node

    setup = resolved_node_setup(args, graph.name)
    config, options, metric, preset_name = setup["config"], setup["model_options"], setup["metric"], setup["preset"]
    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels: use --task link")
    probe = build_model(args.model, graph.num_features, graph.num_classes, **options)  # fail fast on bad options
    check_decay(args.model, probe, config)

    def factory():
        return build_model(args.model, graph.num_features, graph.num_classes, **options)

    rows: list[dict[str, Any]] = []

    def record(result: Any) -> None:
        row = metric_row(result.metrics(), metric)
        config_record = {"model_options": options, "train": vars(config), "preset": preset_name, "split": row["split"]}
        record_node_run(store, "node", graph, args.model, row, metric, config_record, curves=result.history)
        rows.append(row)

    run_node(
        graph,
        factory,
        seeds,
        config,
        split=args.split,
        device=device,
        progress=not args.no_progress,
        on_result=record,
        executor=executor,
    )
    summary: dict[str, Any] = {
        "dataset": graph.name,
        "model": args.model,
        "seeds": len(seeds),
        "task": "node",
        "preset": preset_name,
    }
    summary.update(summarize_node(rows, metric))
    summary["config"] = {
        "preset": preset_name,
        "model_options": resolved_model_options(MODELS[args.model], options),
        "train": vars(config),
        "split": args.split,
        "batching": "full",
        "augment": None,
    }
    return summary
