"""``graphsparse train``: train and evaluate over seeds; print mean ± std and store every run.

Paths: full-batch node classification (here), Cluster-GCN (:mod:`.train_cluster`; in memory, or from a disk graph
through memory maps with ``--on-disk`` / ``--disk FOLDER``), GAug-M / GAug-O
(:mod:`.train_augment`) and link prediction (:mod:`.train_link`). Each path accepts only the options it uses;
any other option given is refused with an error naming it. Without ``--preset``, the paper's preset of
(model, dataset) is used when one is registered (:mod:`graphsparse.presets`); ``--preset none`` gives the bare
library defaults.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import options as opt
from .train_node import resolved_node_setup, run_node_command

__all__ = ["add_parser", "run", "CHECKS", "train_document"]

CHECKS: dict[str, opt.Check] = {
    "seeds": opt.positive_int,
    "seed_offset": opt.nonnegative_int,
    "epochs": opt.positive_int,
    "lr": opt.positive_float,
    "weight_decay": opt.nonnegative_float,
    "hidden": opt.positive_int,
    "layers": opt.positive_int,
    "dropout": opt.probability,
    "parts": opt.positive_int,
    "clusters_per_batch": opt.positive_int,
    "eval_clusters_per_batch": opt.positive_int,
    "eval_negatives": opt.positive_int,
    "hits": opt.parse_int_list,
}

_BASE = (
    "dataset",
    "model",
    "task",
    "seeds",
    "seed_offset",
    "epochs",
    "lr",
    "weight_decay",
    "hidden",
    "dropout",
    "tensorboard",
)
_NODE = (*_BASE, "split", "preset", "layers", "metric", "batching", "augment")
_PROTOCOL = ("normalize_features", "decay")  # the preset's feature normalisation and weight-decay placement
_PARALLEL = ("workers", "ray_address")
_CLUSTER = (*_NODE, "parts", "clusters_per_batch")
ACCEPTED: dict[str, tuple[str, ...]] = {
    "full": (*_NODE, *_PROTOCOL, "sparse_features", *_PARALLEL),
    "cluster": (*_CLUSTER, *_PROTOCOL),
    "cluster-disk": (*_CLUSTER, *_PROTOCOL, "on_disk", "disk", "train_only", "eval_clusters_per_batch"),
    "gaug-m": (*_NODE, *_PROTOCOL, "gaug", "sparse_features"),
    "gaug-o": (*_NODE, "gaug", "gaug_mode"),
    "link": (*_BASE, "hits", "decoder", "eval_negatives", *_PARALLEL),
}
MODE_NAMES = {
    "full": "full-batch node training",
    "cluster": "--batching cluster",
    "cluster-disk": "--batching cluster on disk",
    "gaug-m": "--augment gaug-m",
    "gaug-o": "--augment gaug-o",
    "link": "--task link",
}
HINTS = {
    "parts": "--batching cluster",
    "clusters_per_batch": "--batching cluster",
    "on_disk": "--batching cluster",
    "disk": "--batching cluster",
    "train_only": "--batching cluster with --on-disk or --disk",
    "eval_clusters_per_batch": "--batching cluster with --on-disk or --disk",
    "hits": "--task link",
    "decoder": "--task link",
    "eval_negatives": "--task link",
    "gaug": "--augment gaug-m and gaug-o",
    "gaug_mode": "--augment gaug-o",
    "sparse_features": "full-batch node training and GAug-M",
    "normalize_features": "node classification (full-batch, Cluster-GCN and GAug-M)",
    "decay": "node classification (full-batch, Cluster-GCN and GAug-M)",
    "metric": "node classification",
    "split": "node classification",
    "preset": "node classification",
    "layers": "node classification",
    "augment": "node classification with full batches",
    "batching": "node classification without --augment",
    "workers": "full-batch node training and --task link (and `graphsparse glt`)",
    "ray_address": "full-batch node training and --task link (and `graphsparse glt`)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand and its options.

    Args:
        sub: the ``graphsparse`` parser's subcommands.
    """
    p = sub.add_parser(
        "train",
        help="train and evaluate a model over several seeds",
        description="Train a model on a dataset over several seeds; print mean ± std and store every run. "
        "Options that do not apply to the chosen --task/--batching/--augment are refused.",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset name (see `graphsparse datasets`), or a comma-separated list: with --model x,y a grid, "
        "trained one combination after the other (with --workers, each combination's seeds side by side); "
        "required unless --disk FOLDER is given",
    )
    opt.add_model_option(p)
    p.add_argument(
        "--task",
        default=None,
        type=opt.lower,
        choices=["node", "link"],
        help="node classification (default) or link prediction",
    )
    p.add_argument("--seeds", type=int, default=None, help="number of seeds, seed-offset.. (default: 10)")
    p.add_argument("--seed-offset", type=int, default=None, help="first seed (default: 0)")
    p.add_argument("--split", default=None, help="split name (default: 'public' if present, else one split per seed)")
    p.add_argument(
        "--preset",
        default=None,
        help="hyperparameter preset, e.g. 'paper' (the default when one is registered for model/dataset; "
        "GCN: Kipf & Welling's setting) or 'none' (library defaults)",
    )
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's or 200)")
    p.add_argument("--lr", type=float, default=None, help="learning rate > 0 (default: the preset's or 0.01)")
    p.add_argument("--weight-decay", type=float, default=None, help="L2 weight decay >= 0 (default: the preset's)")
    p.add_argument(
        "--normalize-features",
        dest="normalize_features",
        action="store_const",
        const="on",
        default=None,
        help="row-normalise the node features (each row sums to 1), as Kipf & Welling do on Planetoid (default: "
        "the preset's; GCN and pyg-gcn on Cora/CiteSeer/PubMed: on)",
    )
    p.add_argument(
        "--no-normalize-features",
        dest="normalize_features",
        action="store_const",
        const="off",
        help="use the features as loaded (default: the preset's; off without one)",
    )
    p.add_argument(
        "--decay",
        default=None,
        type=opt.lower,
        choices=["first-layer", "all"],
        help="where --weight-decay applies: 'first-layer' (Kipf & Welling's setting: the first layer's parameters "
        "only) or 'all' parameters (default: the preset's; GCN and pyg-gcn: first-layer; all without one)",
    )
    p.add_argument(
        "--sparse-features",
        action="store_true",
        help="give the model its features as a CSR tensor (faster for sparse bag-of-words features; full-batch "
        "node training and GAug-M)",
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden channels >= 1 (default: the preset's/model's)")
    p.add_argument("--layers", type=int, default=None, help="number of layers (default: the model's)")
    p.add_argument("--dropout", type=float, default=None, help="dropout probability in [0, 1)")
    p.add_argument(
        "--metric",
        default=None,
        type=opt.lower,
        choices=["acc", "roc_auc"],
        help="node selection/report metric (default: the dataset's registered one)",
    )
    p.add_argument(
        "--augment",
        default=None,
        type=opt.lower,
        choices=["none", "gaug-m", "gaug-o"],
        help="edge augmentation: %(choices)s (default: none)",
    )
    p.add_argument("--gaug-mode", default=None, choices=["auto", "dense", "sparse"], help="GAug-O: force a mode")
    p.add_argument(
        "--gaug",
        default=None,
        help="GAug options key=value,... (alpha, beta, temperature, rm_pct, ...); GAug-M with "
        "ep_draws=K also takes grids like rm_pct=0|2|5, chosen on validation",
    )
    p.add_argument(
        "--batching",
        default=None,
        type=opt.lower,
        choices=["full", "cluster"],
        help="full-batch (default) or Cluster-GCN",
    )
    p.add_argument("--parts", type=int, default=None, help="Cluster-GCN: number of METIS parts")
    p.add_argument("--clusters-per-batch", type=int, default=None, help="Cluster-GCN: clusters per batch (default 20)")
    p.add_argument(
        "--on-disk",
        action="store_true",
        help="Cluster-GCN: write the dataset once as a disk graph ordered by its METIS parts (cached under "
        "$GRAPHSPARSE_CACHE, default runs/partitions; row-normalised first if the preset says so) and train from "
        "memory maps, one batch of clusters in memory at a time. Evaluation is batched too (q clusters at a time): "
        "edges between evaluation batches are not used, so scores can differ slightly from the in-memory path",
    )
    p.add_argument(
        "--disk",
        default=None,
        metavar="FOLDER",
        help="Cluster-GCN: train on a disk graph folder instead of --dataset (e.g. written by "
        "graphsparse.data.diskgraph.write_disk_graph or synthetic_dcsbm_to_disk; its features are used as stored); "
        "a one-part folder is first partitioned into --parts (METIS in a child process, cached), a partitioned one "
        "is used as it is. Evaluation is batched as with --on-disk (edges between evaluation batches are not used)",
    )
    p.add_argument(
        "--train-only",
        action="store_true",
        help="Cluster-GCN with --on-disk or --disk: METIS partitions only the subgraph of the split's training nodes "
        "(as the Cluster-GCN authors' code does); every other node joins the part most of its training neighbours "
        "are in. Evaluation stays batched (edges between evaluation batches are not used)",
    )
    p.add_argument(
        "--eval-clusters-per-batch",
        type=int,
        default=None,
        metavar="N",
        help="Cluster-GCN with --on-disk or --disk: clusters per evaluation batch (default: --clusters-per-batch). "
        "Larger batches drop fewer edges between evaluation batches (all parts: the full-graph evaluation) and map "
        "more of the graph at once",
    )
    p.add_argument("--hits", default=None, help="link task: comma-separated K of Hits@K (default: 20,50,100)")
    p.add_argument("--decoder", default=None, choices=["dot", "hadamard"], help="link task: pair decoder")
    p.add_argument(
        "--eval-negatives",
        type=int,
        default=None,
        help="link task: negatives per val/test positive (default: 1; MRR is reported from 50 up)",
    )
    opt.add_tensorboard_option(p)
    opt.add_parallel_options(p)
    opt.add_common(p)
    p.set_defaults(handler=run)


def _mode(args: argparse.Namespace) -> str:
    """Which path runs; ``--augment none`` / ``--batching full`` are the defaults and count as not given."""
    if args.augment == "none":
        args.augment = None
    if args.batching == "full":
        args.batching = None
    if args.task == "link":
        return "link"
    if args.augment is not None:
        if args.batching is not None:
            raise ValueError(
                f"--augment {args.augment} runs full-batch training: it does not combine with --batching cluster"
            )
        return args.augment
    if args.batching == "cluster":
        return "cluster-disk" if args.on_disk or args.disk is not None else "cluster"
    return "full"


def check(args: argparse.Namespace) -> str:
    """Check every option value and refuse those the chosen path does not use; returns the path's name."""
    opt.check_values(args, CHECKS)
    mode = _mode(args)
    opt.refuse_inapplicable(args, ACCEPTED[mode], MODE_NAMES[mode], HINTS)
    if args.disk is not None and args.dataset is not None:
        raise ValueError(f"--disk {args.disk}: give either --dataset or --disk FOLDER, not both")
    if args.disk is None and args.dataset is None:
        raise ValueError("--dataset is required (or --disk FOLDER with --batching cluster)")
    if args.disk is not None and args.normalize_features == "on":
        raise ValueError(
            f"--normalize-features: a --disk graph's features are used as stored ({args.disk}); write the folder "
            "with row-normalised features instead, or use --dataset with --on-disk"
        )
    return mode


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Train every (dataset, model) of the grid; ``--workers``/``--ray-address`` run the seeds on Ray.

    Args:
        args: the parsed ``train`` options.

    Returns:
        One pair: its document (printed by the command). A grid prints each combination's document as it
        finishes (one JSON object per line with ``--json``) and returns None.

    Raises:
        ValueError: an option does not apply to the chosen path, or a value is out of range.
    """
    from ..experiments.tables import print_summary
    from ..utils import resolve_device
    from .grid import combinations, run_grid, split_list

    device = resolve_device(args.device if args.device is not None else "cpu")
    if args.dataset is None or args.disk is not None:  # --disk FOLDER: one folder, no dataset grid
        check(argparse.Namespace(**vars(args)))  # refuses --disk off the on-disk path, or without a folder
        if len(split_list("--model", args.model)) > 1:
            raise ValueError(f"--model {args.model}: --disk trains one model at a time")
        return run_one(args, device)
    grid = len(combinations(argparse.Namespace(**vars(args)))) > 1

    def run_combination(combo: argparse.Namespace, executor: Any) -> dict[str, Any]:
        document = run_one(combo, device, executor)
        if grid:
            print_summary(document, combo.json)
        return document

    documents = run_grid(args, check, run_combination, device, protocol=grid_protocol, command="graphsparse train")
    return None if grid else documents[0]


def run_one(args: argparse.Namespace, device: Any, executor: Any = None) -> dict[str, Any]:
    """Check the options, load the dataset and run the chosen path; returns the summary."""
    from ..experiments.tracking import tracked
    from .preflight import preflight
    from .runs import invocation_record

    mode = check(args)
    writer = opt.tensorboard_writer(args)  # --tensorboard: the package is checked before anything is created
    # the results database is opened and test-written before any training (exit 2 if it cannot be written)
    store = preflight(
        args,
        folders=[("--tensorboard", args.tensorboard)] if args.tensorboard is not None else (),
        datasets=[args.dataset] if args.dataset is not None else (),  # found before the database is created
        unit="runs",
        resume="each finished run is stored as it ends; a rerun trains every "
        "seed again (--seed-offset/--seeds train only the rest)",
    ).store
    store.invocation = invocation_record(device)  # command line, git commit, device, threads, invocation id
    store.invocation["parallel"] = executor.describe() if executor is not None else {"executor": "serial", "workers": 1}
    offset = args.seed_offset if args.seed_offset is not None else 0
    seeds = list(range(offset, offset + (args.seeds if args.seeds is not None else 10)))
    try:  # every run stored is written to TensorBoard too (--tensorboard)
        return _run_mode(mode, args, seeds, tracked(store, writer), device, executor)
    finally:
        if writer is not None:
            writer.close()


def _run_mode(mode: str, args: argparse.Namespace, seeds: list[int], store: Any, device: Any, executor: Any) -> dict:
    """Load the dataset and run ``mode``'s path; returns the command's document."""
    from ..data import load_dataset

    if mode == "cluster-disk":  # loads the dataset itself, only to write it to disk (or never, with --disk)
        from .train_cluster import run_cluster_disk_command

        return train_document(run_cluster_disk_command(args, seeds, store, device), seeds, device)
    graph = load_dataset(args.dataset)
    if mode == "link":
        from .train_link import run_link_command

        summary = run_link_command(args, graph, seeds, store, device, executor)
    elif mode in ("gaug-m", "gaug-o"):
        from .train_augment import run_augment_command

        summary = run_augment_command(args, graph, seeds, store, device)
    elif mode == "cluster":
        from .train_cluster import run_cluster_command

        summary = run_cluster_command(args, graph, seeds, store, device)
    else:
        summary = run_node_command(args, graph, seeds, store, device, executor)
    return train_document(summary, seeds, device)


def train_document(summary: dict[str, Any], seeds: list[int], device: Any) -> dict[str, Any]:
    """A path's summary as the shared JSON document (:func:`graphsparse.experiments.document.command_document`).

    Args:
        summary: the path's flat keys, ``runs`` and its resolved ``config``.
        seeds: the seeds trained.
        device: the torch device (it and the thread count join ``config``).

    Returns:
        The command's JSON document.
    """
    from ..experiments.document import STD_SAMPLE, command_document, metric_summary
    from .node_setup import runtime_config

    extra = dict(summary)
    config = {**extra.pop("config", {}), **runtime_config(device)}
    return command_document(
        "train",
        dataset=extra["dataset"],
        model=extra["model"],
        task=extra["task"],
        metric=extra["metric"],
        seeds=seeds,
        config=config,
        summary=metric_summary(extra),
        extra=extra,
        std=STD_SAMPLE,
    )


_PROTOCOL_FIELDS = ("normalize_features", "weight_decay", "decay_first_layer_only", "lr", "epochs")


def grid_protocol(args: argparse.Namespace) -> dict[str, Any] | None:
    """What a grid compares between its rows: the preset's name and the settings that make scores comparable.

    Args:
        args: one row's checked options.

    Returns:
        The preset and the training settings (feature normalisation, weight decay and where it applies, learning
        rate, epochs); None for link prediction (one protocol for every model).

    Raises:
        ValueError: the row's preset is not registered for its model and dataset.
    """
    if _mode(argparse.Namespace(**vars(args))) == "link":
        return None
    from ..data import canonical_name

    setup = resolved_node_setup(args, canonical_name(args.dataset))
    return {"preset": setup["preset"], **protocol_fields(setup["config"])}


def protocol_fields(config: Any) -> dict[str, Any]:
    """The training settings of a node config that a grid compares between its rows."""
    return {k: getattr(config, k) for k in _PROTOCOL_FIELDS}
