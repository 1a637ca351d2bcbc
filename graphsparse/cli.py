"""The ``graphsparse`` command: ``train``, ``glt``, ``datasets``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from .graph import GraphError

__all__ = ["main", "summarize", "print_summary"]


def summarize(rows: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, float]:
    """``<key>_mean`` and ``<key>_std`` (population std over seeds) for each metric key."""
    import numpy as np

    out: dict[str, float] = {}
    for key in keys:
        values = np.array([float(r[key]) for r in rows], dtype=float)
        out[f"{key}_mean"] = float(values.mean()) if values.size else math.nan
        out[f"{key}_std"] = float(values.std()) if values.size else math.nan
    return out


def print_summary(summary: dict[str, Any], as_json: bool, file=None) -> None:
    """One JSON object, or a readable table of every ``*_mean`` metric with its ``± std``."""
    file = file or sys.stdout
    if as_json:
        print(json.dumps(summary, sort_keys=True, default=float), file=file)
        return
    head = {k: v for k, v in summary.items() if not k.endswith(("_mean", "_std")) and not isinstance(v, list)}
    print("  ".join(f"{k}={v}" for k, v in head.items()), file=file)
    names = [k[: -len("_mean")] for k in summary if k.endswith("_mean")]
    width = max([len(n) for n in names] + [6])
    print(f"{'metric':<{width}}  {'mean':>9}  {'± std':>8}", file=file)
    for name in names:
        mean, std = summary[f"{name}_mean"], summary.get(f"{name}_std", math.nan)
        scale = 100.0 if name.endswith(("acc", "auc", "ap")) or "hits" in name or name.endswith("mrr") else 1.0
        print(f"{name:<{width}}  {mean * scale:>9.4g}  {std * scale:>8.3g}", file=file)
    print("(accuracies and AUC shown in %)" if any(n.endswith("acc") for n in names) else "", file=file)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help="results database (default: $GRAPHSPARSE_DB or runs/graphsparse.db)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train and evaluate a model over several seeds",
        description="Train a model on a dataset over several seeds; print mean ± std and store every run.",
    )
    p.add_argument("--dataset", required=True, help="dataset name (see `graphsparse datasets`)")
    p.add_argument("--model", default="gcn", help="model name: gcn, mlp, gat, gin, sage, ... (default: gcn)")
    p.add_argument("--task", default="node", choices=["node", "link"], help="node classification or link prediction")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1 (default: 10)")
    p.add_argument("--seed-offset", type=int, default=0, help="first seed (default: 0)")
    p.add_argument("--split", default=None, help="split name (default: 'public' if present, else one split per seed)")
    p.add_argument("--preset", default=None, help="hyperparameter preset, e.g. 'paper'")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: 200 or the preset's)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 0.01 or the preset's)")
    p.add_argument("--weight-decay", type=float, default=None, help="L2 weight decay (default: 5e-4)")
    p.add_argument(
        "--sparse-features",
        action="store_true",
        help="give the model its features as a CSR tensor (faster for sparse bag-of-words features; full-batch "
        "node training and GAug-M)",
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden channels (default: the model's)")
    p.add_argument("--layers", type=int, default=None, help="number of layers (default: the model's)")
    p.add_argument("--dropout", type=float, default=None, help="dropout probability (default: the model's)")
    p.add_argument("--augment", default="none", help="edge augmentation: none, gaug-m, gaug-o")
    p.add_argument("--gaug-mode", default=None, choices=["auto", "dense", "sparse"], help="GAug-O: force a mode")
    p.add_argument(
        "--gaug",
        default=None,
        help="GAug options key=value,... (alpha, beta, temperature, rm_pct, ...); GAug-M with "
        "ep_draws=K also takes grids like rm_pct=0|2|5, chosen on validation",
    )
    p.add_argument("--batching", default="full", choices=["full", "cluster"], help="full-batch or Cluster-GCN")
    p.add_argument("--parts", type=int, default=None, help="Cluster-GCN: number of METIS parts")
    p.add_argument("--clusters-per-batch", type=int, default=None, help="Cluster-GCN: clusters per batch")
    p.add_argument("--hits", default=None, help="link task: comma-separated K of Hits@K (default: 20,50,100)")
    p.add_argument("--decoder", default=None, choices=["dot", "hadamard"], help="link task: pair decoder")
    p.add_argument(
        "--eval-negatives", type=int, default=None, help="link task: negatives per val/test positive (default: 1)"
    )
    _add_common(p)
    p.set_defaults(handler=_run_train)


def node_config_from_args(args: argparse.Namespace, preset_train: dict[str, Any]) -> Any:
    """Preset training options overridden by explicit --epochs/--lr/--weight-decay/--sparse-features."""
    from .tasks.node import NodeTrainConfig

    options = dict(preset_train)
    for field, value in (("epochs", args.epochs), ("lr", args.lr), ("weight_decay", args.weight_decay)):
        if value is not None:
            options[field] = value
    if getattr(args, "sparse_features", False):
        options["sparse_features"] = True
    return NodeTrainConfig(**options)


def model_options_from_args(args: argparse.Namespace, preset_model: dict[str, Any]) -> dict[str, Any]:
    """Preset model options overridden by explicit --hidden/--layers/--dropout."""
    options = dict(preset_model)
    for field, value in (("hidden_channels", args.hidden), ("num_layers", args.layers), ("dropout", args.dropout)):
        if value is not None:
            options[field] = value
    return options


def _run_train(args: argparse.Namespace) -> dict[str, Any]:
    from .data import load_dataset
    from .experiments import ResultsStore
    from .utils import resolve_device

    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    device = resolve_device(args.device)
    graph = load_dataset(args.dataset)
    store = ResultsStore(args.db)
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    if args.sparse_features and (args.task == "link" or args.augment.lower() == "gaug-o" or args.batching == "cluster"):
        raise ValueError("--sparse-features applies to full-batch node training and GAug-M only")
    if args.task == "link":
        from .tasks.link import run_link_command

        return run_link_command(args, graph, seeds, store, device)
    if args.augment != "none":
        from .augment.command import run_augment_command

        return run_augment_command(args, graph, seeds, store, device)
    if args.batching == "cluster":
        from .batching.command import run_cluster_command

        return run_cluster_command(args, graph, seeds, store, device)
    return run_node_command(args, graph, seeds, store, device)


def run_node_command(args: argparse.Namespace, graph: Any, seeds: list[int], store: Any, device: Any) -> dict:
    """Full-batch node classification over seeds; each run recorded in ``store``."""
    from .nn import build_model
    from .nn.presets import resolve_preset
    from .tasks.node import run_node

    preset = resolve_preset(args.model, graph.name, args.preset)
    config = node_config_from_args(args, preset["train"])
    model_options = model_options_from_args(args, preset["model"])
    if graph.num_classes < 2:
        raise GraphError(f"dataset {graph.name!r} has no class labels: use --task link")
    build_model(args.model, graph.num_features, graph.num_classes, **model_options)  # fail fast on bad options

    def factory():
        return build_model(args.model, graph.num_features, graph.num_classes, **model_options)

    results = run_node(graph, factory, seeds, config, split=args.split, device=device, progress=not args.no_progress)
    rows = []
    for r in results:
        metrics = r.metrics()
        store.record_run(
            "node",
            graph.name,
            args.model,
            r.seed,
            {"model_options": model_options, "train": vars(config), "preset": args.preset, "split": r.split},
            {k: metrics[k] for k in ("train_acc", "val_acc", "test_acc", "best_epoch")},
            {"seconds": r.seconds, "epoch_seconds": r.epoch_seconds},
        )
        rows.append(metrics)
    summary: dict[str, Any] = {"dataset": graph.name, "model": args.model, "seeds": len(seeds), "task": "node"}
    if args.preset:
        summary["preset"] = args.preset
    summary.update(summarize(rows, ["test_acc", "val_acc", "train_acc", "epoch_seconds"]))
    summary["runs"] = [{k: r[k] for k in ("seed", "split", "val_acc", "test_acc", "best_epoch")} for r in rows]
    return summary


def _add_datasets(sub: argparse._SubParsersAction) -> None:
    from .data import cli as data_cli

    p = sub.add_parser("datasets", help="list the shipped datasets with their counts")
    data_cli.add_arguments(p)
    p.set_defaults(handler=_run_datasets)


def _run_datasets(args: argparse.Namespace) -> None:
    from .data import cli as data_cli

    data_cli.run(args)


def _add_glt(sub: argparse._SubParsersAction) -> None:
    try:
        from .sparsify import command as glt_command
    except ImportError:  # the search module is optional until it lands
        return
    p = sub.add_parser(
        "glt",
        help="graph lottery ticket search (TEDDY, UGS, random)",
        description="Search for graph lottery tickets at matched graph/weight sparsity levels; resumable.",
    )
    glt_command.add_arguments(p)
    _add_common(p)
    p.set_defaults(handler=glt_command.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphsparse", description="Graph neural networks on sparse graphs, and graph lottery tickets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_glt(sub)
    _add_datasets(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .utils import keep_freed_memory

    keep_freed_memory()  # full-batch epochs re-allocate the same large tensors: reuse them, don't re-fault them
    try:
        summary = args.handler(args)
    except (GraphError, ValueError, FileNotFoundError) as err:
        print(f"graphsparse {args.command}: error: {err}", file=sys.stderr)
        return 2
    if isinstance(summary, dict):
        print_summary(summary, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
