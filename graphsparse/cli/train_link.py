"""``graphsparse train --task link``: GAE/VGAE or an encoder + decoder over seeds; every run stored.

Defaults are Kipf & Welling's GAE (:data:`graphsparse.presets.LINK_DEFAULTS`); explicit options override them.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from ..experiments.document import summarize
from .node_setup import resolved_model_options

__all__ = ["run_link_command", "link_setup"]


def link_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Model name, model options, training options and evaluation negatives of ``args`` (checked values)."""
    from ..presets import LINK_DEFAULTS

    model = dict(LINK_DEFAULTS["model"])
    train = dict(LINK_DEFAULTS["train"])
    for field, dest in (("hidden_channels", "hidden"), ("decoder", "decoder"), ("dropout", "dropout")):
        if getattr(args, dest, None) is not None:
            model[field] = getattr(args, dest)
    for field, dest in (("epochs", "epochs"), ("lr", "lr"), ("weight_decay", "weight_decay"), ("hits", "hits")):
        if getattr(args, dest, None) is not None:
            train[field] = getattr(args, dest)
    neg_ratio = LINK_DEFAULTS["split"]["neg_ratio"] if args.eval_negatives is None else args.eval_negatives
    return {
        "model_name": "gae" if args.model == "gcn" else args.model,
        "model_options": model,
        "train": train,
        "neg_ratio": neg_ratio,
    }


def run_link_command(
    args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any, executor: Any = None
) -> dict:
    """Train and evaluate a link-prediction model on ``graph`` over ``seeds``, storing every run.

    Args:
        args: the ``train --task link`` options (checked values).
        graph: the dataset as loaded.
        seeds: one run per seed.
        store: the results store each finished run is recorded in.
        device: the torch device the runs use.
        executor: the executor the seeds run on (None: serially in this process).

    Returns:
        The summary: mean ± std of the validation and test scores (AUC, AP, Hits@K) and of the epoch time, one
        short entry per run and the configuration used.

    Raises:
        ValueError: an unknown model or an invalid model option, before anything trains.
    """
    from ..nn.gae import build_link_model
    from ..presets import LINK_DEFAULTS
    from ..tasks.link import LinkTrainConfig, run_link

    setup = link_setup(args)
    model_name, options, neg_ratio = setup["model_name"], setup["model_options"], setup["neg_ratio"]
    config = LinkTrainConfig(**setup["train"])
    in_channels = graph.num_features if graph.x is not None else None
    build_link_model(model_name, in_channels, graph.num_nodes, **options)  # fail fast on bad options

    def factory():
        return build_link_model(model_name, in_channels, graph.num_nodes, **options)

    split = LINK_DEFAULTS["split"]
    split_name = (
        f"{round(100 * (1 - split['val_fraction'] - split['test_fraction']))}/"
        f"{round(100 * split['val_fraction'])}/{round(100 * split['test_fraction'])}"
    )
    rows: list[dict[str, Any]] = []

    def record(result: Any) -> None:
        metrics = result.metrics()
        store.record_run(
            "link",
            graph.name,
            model_name,
            metrics["seed"],
            {"model_options": options, "train": asdict(config), "split": split_name, "eval_negatives": neg_ratio},
            {k: v for k, v in metrics.items() if k.startswith(("val_", "test_")) or k == "best_epoch"},
            {k: metrics[k] for k in ("seconds", "epoch_seconds", "peak_rss_mb") if k in metrics},
            graph_fingerprint=graph.fingerprint(),
            curves=result.history,
        )
        rows.append(metrics)

    run_link(
        graph,
        factory,
        seeds,
        config,
        val_fraction=split["val_fraction"],
        test_fraction=split["test_fraction"],
        neg_ratio=neg_ratio,
        device=device,
        progress=not args.no_progress,
        on_result=record,
        executor=executor,
    )
    keys = [k for k in rows[0] if k.startswith(("test_", "val_"))] + ["epoch_seconds"]
    summary: dict[str, Any] = {
        "dataset": graph.name,
        "model": model_name,
        "seeds": len(seeds),
        "task": "link",
        "metric": "auc",
    }
    summary.update(summarize(rows, keys))
    summary["runs"] = [
        {k: r[k] for k in ("seed", "best_epoch", "val_auc", "test_auc", "test_ap") if k in r} for r in rows
    ]
    summary["config"] = {
        "model_options": resolved_model_options(build_link_model, options, skip=3),
        "train": asdict(config),
        "split": split_name,
        "val_fraction": split["val_fraction"],
        "test_fraction": split["test_fraction"],
        "eval_negatives": neg_ratio,
    }
    return summary
