"""Node-classification set-up shared by the full-batch, Cluster-GCN and GAug paths of ``train`` (and ``glt``).

The metric a dataset is scored by, the training config and model options (preset, then explicit options), and
metric-named rows, summaries and store records.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "dataset_metric",
    "node_config",
    "model_options",
    "metric_row",
    "score_keys",
    "record_node_run",
    "summarize_node",
    "resolved_model_options",
    "runtime_config",
]

_REGISTRY_TO_NODE_METRIC = {"accuracy": "acc", "acc": "acc", "roc_auc": "roc_auc"}


def dataset_metric(name: str, override: str | None = None) -> str:
    """The metric a dataset is scored by: ``override`` (``--metric``), else its registry entry's.

    The registry entry names ``'acc'`` or ``'roc_auc'``; accuracy for datasets the registry does not know.
    """
    if override is not None:
        return override
    from ..data import dataset_info

    try:
        registered = dataset_info(name)["metric"]
    except (KeyError, ValueError):
        return "acc"
    return _REGISTRY_TO_NODE_METRIC.get(str(registered).lower(), "acc")


def node_config(args: argparse.Namespace, preset_train: dict[str, Any], metric: str) -> Any:
    """Preset training options overridden by explicit options, as a ``NodeTrainConfig``.

    The explicit options are --epochs/--lr/--weight-decay/--sparse-features and
    --normalize-features/--no-normalize-features (row-normalised features) and --decay first-layer|all (L2 on the
    first layer only, Kipf & Welling's setting, or on every parameter).
    """
    from ..tasks.node import NodeTrainConfig

    options = dict(preset_train)
    for field, dest in (("epochs", "epochs"), ("lr", "lr"), ("weight_decay", "weight_decay")):
        value = getattr(args, dest, None)
        if value is not None:
            options[field] = value
    normalize = getattr(args, "normalize_features", None)  # --normalize-features / --no-normalize-features
    if normalize is not None:
        options["normalize_features"] = normalize == "on"
    decay = getattr(args, "decay", None)  # --decay first-layer|all
    if decay is not None:
        options["decay_first_layer_only"] = decay == "first-layer"
    if getattr(args, "sparse_features", False):
        options["sparse_features"] = True
    options["metric"] = metric
    return NodeTrainConfig(**options)


def model_options(args: argparse.Namespace, preset_model: dict[str, Any]) -> dict[str, Any]:
    """Preset model options overridden by explicit --hidden/--layers/--dropout."""
    options = dict(preset_model)
    for field, dest in (("hidden_channels", "hidden"), ("num_layers", "layers"), ("dropout", "dropout")):
        value = getattr(args, dest, None)
        if value is not None:
            options[field] = value
    return options


def resolved_model_options(factory: Any, options: dict[str, Any], skip: int = 2) -> dict[str, Any]:
    """``options`` with the defaults of ``factory``'s keyword parameters filled in.

    The first ``skip`` parameters, the channel counts, are left out: the result is the model options a run really
    used, for the JSON document.
    """
    import inspect

    resolved: dict[str, Any] = {}
    try:
        parameters = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        parameters = []
    for p in parameters:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty:
            resolved[p.name] = p.default
    resolved.update({k: v for k, v in options.items() if v is not None})
    return resolved


def runtime_config(device: Any) -> dict[str, Any]:
    """Where a command ran.

    The device, torch's intra-op thread count and where that count came from (``--threads``, ``OMP_NUM_THREADS`` or
    the policy of :mod:`graphsparse.threads`).
    """
    import torch

    from ..threads import last_choice

    choice = last_choice()
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "threads_source": None if choice is None else choice.source,
    }


def metric_row(row: dict[str, Any], metric: str) -> dict[str, Any]:
    """``row`` with its scores keyed by ``metric`` (``test_roc_auc``, ...).

    Results that still name every score ``*_acc`` whatever was measured are renamed.
    """
    out = dict(row)
    if metric != "acc":
        for part in ("train", "val", "test"):
            new, old = f"{part}_{metric}", f"{part}_acc"
            if new not in out and old in out:
                out[new] = out.pop(old)
    return out


def score_keys(metric: str) -> tuple[str, str, str]:
    """The train, validation and test score keys of ``metric`` (``train_acc``, ``val_acc``, ``test_acc``)."""
    return f"train_{metric}", f"val_{metric}", f"test_{metric}"


def record_node_run(
    store: Any,
    kind: str,
    graph: Any,
    model: str,
    row: dict[str, Any],
    metric: str,
    config: dict[str, Any],
    curves: list[dict[str, Any]] | None = None,
) -> None:
    """Record one run of ``graph`` in the results store.

    ``graph`` is the dataset as loaded (its content fingerprint is recorded); the run's scores and best epoch are
    stored, timing and memory as extras, ``curves`` its per-epoch history when given.
    """
    scores = {k: row[k] for k in (*score_keys(metric), "best_epoch") if k in row}
    extra = {k: row[k] for k in ("seconds", "epoch_seconds", "peak_rss_mb") if k in row}
    store.record_run(
        kind,
        graph.name,
        model,
        row["seed"],
        {**config, "metric": metric},
        scores,
        extra,
        graph_fingerprint=graph.fingerprint(),
        curves=curves,
    )


def summarize_node(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """``test_<metric>_mean`` / ``_std`` (and val, train, epoch seconds) plus one short entry per run."""
    from ..experiments.document import summarize  # not at import: the command starts before torch loads

    train, val, test = score_keys(metric)
    summary: dict[str, Any] = {"metric": metric}
    summary.update(summarize(rows, [test, val, train, "epoch_seconds"]))
    summary["runs"] = [{k: r[k] for k in ("seed", "split", val, test, "best_epoch") if k in r} for r in rows]
    return summary
