"""``graphsparse train --augment gaug-m|gaug-o``: GAug runs over seeds, beside the plain backbone, stored.

Every GAug run and every baseline run (the same backbone and training options on the original graph, same
seeds) is recorded in the results store; the summary holds ``test_<metric>_mean`` / ``_std`` (GAug) and
``baseline_test_<metric>_mean`` / ``_std``. Without ``--preset`` the GAug paper's setting of (method, model,
dataset) is used when one is registered (:mod:`graphsparse.presets.gaug`).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..experiments.document import summarize
from ..validation import check_int
from .node_setup import (
    dataset_metric,
    metric_row,
    model_options,
    node_config,
    record_node_run,
    resolved_model_options,
    summarize_node,
)

__all__ = ["run_augment_command", "parse_gaug_options", "GAUG_M_OPTIONS"]

GAUG_M_OPTIONS = (
    "rm_pct",
    "add_pct",
    "ep_epochs",
    "ep_hidden",
    "ep_out",
    "ep_hidden_activation",
    "ep_out_activation",
    "ep_draws",
    "ep_select_seeds",
)
# what a GAug-M run trains with when neither the preset nor an option says (the library's GCN set-up)
_GAUG_M_TRAIN = {"epochs": 200, "lr": 0.01, "weight_decay": 5e-4, "normalize_features": True}


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_gaug_options(text: str | None) -> dict[str, Any]:
    """``'alpha=0.5,beta=1'`` -> ``{'alpha': 0.5, 'beta': 1}``; malformed items raise ValueError."""
    options: dict[str, Any] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ValueError(f"--gaug expects key=value items separated by commas, got {item!r}")
        key, value = item.split("=", 1)
        options[key.strip().replace("-", "_")] = _value(value.strip())
    return options


def _check_known(method: str, options: dict[str, Any], known: set[str]) -> None:
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"unknown {method} options: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")


def _baseline(args, graph, factory, seeds, store, device, config, options, metric, preset) -> list[dict[str, Any]]:
    from ..tasks.node import run_node

    rows: list[dict[str, Any]] = []

    def record(result: Any) -> None:
        row = metric_row(result.metrics(), metric)
        config_record = {
            "augment": "none",
            "model_options": options,
            "train": vars(config),
            "split": row["split"],
            "preset": preset,
            "baseline_of": args.augment,
        }
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
    )
    return rows


def run_augment_command(args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any) -> dict:
    """Run GAug-M or GAug-O (``args.augment``) over ``seeds`` plus the plain backbone; return the summary."""
    from ..graph import GraphError
    from ..nn import MODELS, build_model
    from ..presets import default_gaug_preset, resolve_gaug_preset

    method = args.augment
    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels: GAug augments node classification")
    preset_name = args.preset if args.preset is not None else default_gaug_preset(method, args.model, graph.name)
    preset = resolve_gaug_preset(method, args.model, graph.name, preset_name)
    gaug = {**preset["gaug"], **parse_gaug_options(args.gaug)}
    options = model_options(args, preset["model"])
    metric = dataset_metric(graph.name, args.metric)
    build_model(args.model, graph.num_features, graph.num_classes, **options)  # fail fast on bad options

    def factory():
        return build_model(args.model, graph.num_features, graph.num_classes, **options)

    summary: dict[str, Any] = {
        "dataset": graph.name,
        "model": args.model,
        "seeds": len(seeds),
        "task": "node",
        "augment": method,
        "preset": preset_name,
    }
    if method == "gaug-m":
        rows, config = _gaug_m(
            args, graph, seeds, store, device, gaug, preset, options, metric, preset_name, factory, summary
        )
    else:
        rows, config = _gaug_o(args, graph, seeds, store, device, gaug, options, metric, preset_name, factory, summary)
    summary.update(summarize_node(rows, metric))
    baseline = _baseline(args, graph, factory, seeds, store, device, config, options, metric, preset_name)
    train_key, val_key, test_key = (f"{part}_{metric}" for part in ("train", "val", "test"))
    for key, value in summarize(baseline, [test_key, val_key, "epoch_seconds"]).items():
        summary[f"baseline_{key}"] = value
    summary["baseline_runs"] = [{k: r[k] for k in ("seed", val_key, test_key)} for r in baseline]
    summary["config"] = {
        "preset": preset_name,
        "model_options": resolved_model_options(MODELS[args.model], options),
        "train": vars(config),  # GAug-M's backbone training; GAug-O's own optimiser settings are in gaug
        "split": args.split,
        "batching": "full",
        "augment": method,
        "gaug": summary["gaug"],
    }
    if "gaug_grid" in summary:
        summary["config"]["gaug_grid"] = summary["gaug_grid"]
    return summary


def _gaug_m(args, graph, seeds, store, device, gaug, preset, options, metric, preset_name, factory, summary):
    from ..augment.gaug_m import gaug_m_graph
    from ..augment.selection import gaug_m_grid, predictor_embeddings, select_gaug_m_graph
    from ..tasks.node import row_normalize_features, split_for_seed, train_node
    from ..utils import seed_everything

    _check_known("GAug-M", gaug, set(GAUG_M_OPTIONS))
    config = node_config(args, {**_GAUG_M_TRAIN, **preset["train"]}, metric)
    draws = check_int("GAug-M ep_draws", gaug.get("ep_draws", 0), 0)
    select_seeds = check_int("GAug-M ep_select_seeds", gaug.get("ep_select_seeds", 3), 1)
    for name in ("ep_epochs", "ep_hidden", "ep_out"):  # the edge predictor's sizes: integers >= 1, before training
        if name in gaug:
            gaug[name] = check_int(f"GAug-M {name}", gaug[name], 1)
    grid = gaug_m_grid(graph, gaug.get("rm_pct", 0), gaug.get("add_pct", 0))
    if len(grid) > 1 and not draws:
        raise ValueError(
            "GAug-M: a grid of rm_pct/add_pct values is chosen on validation together with the "
            "predictor draw; set ep_draws >= 1"
        )
    val_key = f"val_{metric}"

    def train_on(augmented: Any, i: int, seed: int) -> dict[str, Any]:
        split_name, split_masks = split_for_seed(augmented, i, args.split)
        if config.normalize_features:
            augmented = row_normalize_features(augmented)
        seed_everything(seed)
        model = factory().to(device)
        result = train_node(augmented, model, split_masks, config, seed=seed, split_name=split_name)
        return metric_row(result.metrics(), metric)

    chosen, used = None, dict(gaug)
    grid_given = {"rm_pct": gaug["rm_pct"], "add_pct": gaug["add_pct"]} if len(grid) > 1 else None
    if draws:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=draws * len(grid), desc=f"GAug-M selection {graph.name}", unit="graph", disable=args.no_progress
        )

        def progress(entry: dict[str, Any]) -> None:
            bar.update()
            bar.set_postfix(
                draw=entry["draw"], rm=entry["rm_pct"], add=entry["add_pct"], best_val=f"{entry['best_val_mean']:.3f}"
            )

        chosen, best, scored = select_gaug_m_graph(
            graph, gaug, grid, draws, select_seeds, lambda g, i, s: train_on(g, i, s)[val_key], progress
        )
        bar.close()
        summary["predictor_draws"] = [
            {"draw": e["draw"], "rm_pct": e["rm_pct"], "add_pct": e["add_pct"], f"{val_key}_mean": e["val_mean"]}
            for e in scored
        ]
        summary["chosen_draw"] = best["draw"]
        used.update(rm_pct=best["rm_pct"], add_pct=best["add_pct"])
    else:
        used.update(rm_pct=grid[0][0], add_pct=grid[0][1])
    from tqdm.auto import tqdm

    rows = []
    augmented = chosen
    bar = tqdm(seeds, desc=f"GAug-M {graph.name}", unit="seed", disable=args.no_progress, leave=False)
    for i, seed in enumerate(bar):
        # without ep_draws: one predictor per seed, seeded before it is built: the augmented graph depends on the
        # predictor's draw (on Cora, predictor seeds 0-2 gave 83.2 / 82.1 / 82.1), so the spread includes it
        if chosen is None:
            embeddings = predictor_embeddings(
                graph, gaug, seed, progress="GAug-M predictor pre-training" if not args.no_progress else False
            )
            augmented = gaug_m_graph(graph, embeddings, *grid[0])
        row = train_on(augmented, i, seed)
        record = {
            "augment": "gaug-m",
            "gaug": used,
            "model_options": options,
            "train": vars(config),
            "preset": preset_name,
            "split": row["split"],
        }
        if grid_given:
            record["gaug_grid"] = grid_given
        record_node_run(store, "node", graph, args.model, row, metric, record)
        rows.append(row)
    summary.update({"gaug": used, "edges": graph.num_edges, "augmented_edges": augmented.num_edges})
    if grid_given:
        summary["gaug_grid"] = grid_given
    return rows, config


def _gaug_o(args, graph, seeds, store, device, gaug, options, metric, preset_name, factory, summary):
    from ..augment.gaug_o import GAugOConfig, train_gaug_o
    from ..augment.predictor import dense_memory_bytes
    from ..tasks.node import split_for_seed

    fields = {f.name for f in dataclasses.fields(GAugOConfig)}
    _check_known("GAug-O", gaug, fields)
    for name in ("epochs", "lr", "weight_decay"):
        value = getattr(args, name)
        if value is not None:
            gaug[name] = value
    if args.gaug_mode is not None:
        gaug["mode"] = args.gaug_mode
    if "metric" in fields:
        gaug["metric"] = metric
    elif metric != "acc":
        raise ValueError(f"GAug-O reports accuracy only; {graph.name!r} is scored by {metric} (use --metric acc)")
    gaug_config = GAugOConfig(**gaug)
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(seeds, desc=f"GAug-O {graph.name}", unit="seed", disable=args.no_progress, leave=False)
    for i, seed in enumerate(bar):
        split_name, split = split_for_seed(graph, i, args.split)
        result = train_gaug_o(
            graph,
            factory,
            split,
            gaug_config,
            seed=seed,
            split_name=split_name,
            device=device,
            progress=not args.no_progress,
        )
        row = metric_row(result.metrics(), metric)
        row.setdefault("seed", seed)
        row.setdefault("split", split_name)
        record = {
            "augment": "gaug-o",
            "gaug": vars(gaug_config),
            "model_options": options,
            "preset": preset_name,
            "split": split_name,
        }
        record_node_run(store, "node", graph, args.model, row, metric, record, curves=result.history)
        rows.append(row)
    summary.update({"gaug": vars(gaug_config), "mode": gaug_config.resolved_mode(graph)})
    summary["dense_memory_mb"] = dense_memory_bytes(graph.num_nodes) / 2**20
    summary.update(summarize([r for r in rows if "peak_rss_mb" in r], ["peak_rss_mb"]))
    # the baseline trains the backbone with GAug-O's optimiser settings
    baseline_train = {
        "epochs": gaug_config.epochs,
        "lr": gaug_config.lr,
        "weight_decay": gaug_config.weight_decay,
        "normalize_features": True,
    }
    config = node_config(argparse.Namespace(), baseline_train, metric)
    return rows, config
