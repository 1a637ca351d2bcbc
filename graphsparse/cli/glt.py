"""``graphsparse glt``: graph lottery ticket search from the command line (table or JSON, plus a plot).

Defaults are the GLT papers' protocol (the published TEDDY-protocol tables in docs/glt/README.md): the 512-wide
GCN of the TEDDY/UGS reference code where it is registered ('teddy' preset: Cora, CiteSeer, PubMed; 'teddy-ogb' on
ogbn-arxiv, which also sets the schedule: 20 rounds of pg = pw = 0.1, and TEDDY's λ = 0.1), TEDDY with
its distillation λ = 10 (``--distill 0`` switches it off; it applies to the teddy method only) and UGS with
s1 = s2 = 1e-4 on that backbone. ``--preset paper`` is Kipf & Welling's 16-wide GCN (with the UGS reference's
coefficients), ``--preset none`` the library defaults.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from . import options as opt
from .glt_setup import (
    configured_methods,
    dataset_key,
    disk_graph,
    glt_schedule,
    link_setup,
    method_options_by_flag,
    node_trainer,
    option_owners,
    resolve_glt,
)

__all__ = ["add_parser", "run", "CHECKS", "resolve_glt", "glt_schedule"]

CHECKS: dict[str, opt.Check] = {
    "rounds": opt.positive_int,
    "pg": opt.probability,
    "pw": opt.probability,
    "seeds": opt.positive_int,
    "epochs": opt.positive_int,
    "hidden": opt.positive_int,
    "parts": opt.positive_int,
    "clusters_per_batch": opt.positive_int,
    "accumulate": opt.nonnegative_int,
}
_BASE = (
    "dataset",
    "model",
    "method",
    "rounds",
    "levels",
    "pg",
    "pw",
    "seeds",
    "epochs",
    "hidden",
    "plot",
    "task",
    "save_tickets",
    "tensorboard",
    "workers",
    "ray_address",
)
ACCEPTED = {
    "node": (
        *_BASE,
        "preset",
        "split",
        "sparse_features",
        "batching",
        "parts",
        "clusters_per_batch",
        "accumulate",
        "on_disk",
        "disk",
        "train_only",
    ),
    "link": _BASE,
}
HINTS = {
    "preset": "--task node",
    "split": "--task node",
    "sparse_features": "--task node",
    "batching": "--task node",
    "parts": "--batching cluster",
    "clusters_per_batch": "--batching cluster",
    "accumulate": "--batching cluster",
    "on_disk": "--batching cluster",
    "disk": "--task node",
    "train_only": "--disk FOLDER",
}
DEFAULT_METHODS = "teddy,random"
_KEYS = (
    "method",
    "round",
    "graph_sparsity",
    "weight_sparsity",
    "seconds",
    "tickets",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``glt`` subcommand, with the options every registered method declares, to the ``graphsparse`` parser.

    Args:
        sub: the ``graphsparse`` parser's subparsers.
    """
    from ..sparsify.methods import method_names

    p = sub.add_parser(
        "glt",
        help="graph lottery ticket search (TEDDY, UGS, WD-GLT, random, plug-ins)",
        description="Search for graph lottery tickets at matched graph/weight sparsity levels; resumable. Defaults "
        "follow the TEDDY protocol: 512-wide GCN where registered, TEDDY + KD (λ = 10), UGS s1 = s2 = 1e-4.",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset name (see `graphsparse datasets`), or a comma-separated list: with --model x,y a grid, "
        "searched one combination after the other; required unless --disk FOLDER is given",
    )
    opt.add_model_option(p)
    p.add_argument(
        "--method",
        default=None,
        help=f"comma-separated GLT methods: {', '.join(method_names())}, or package.module:Class of a method "
        f"defined elsewhere (default: {DEFAULT_METHODS})",
    )
    p.add_argument("--rounds", type=int, default=None, help="pruning rounds / levels (default: the preset's, else 20)")
    p.add_argument(
        "--levels",
        default=None,
        help="only these rounds of the schedule, e.g. '15-20' or '1,10,20' (one-shot methods: teddy, random; "
        "UGS needs every round up to its last). Default: all 1..--rounds",
    )
    p.add_argument(
        "--pg",
        type=float,
        default=None,
        help="graph pruning rate per round, in [0, 1) (default: the preset's, else 0.05)",
    )
    p.add_argument(
        "--pw",
        type=float,
        default=None,
        help="weight pruning rate per round, in [0, 1) (default: the preset's, else 0.2)",
    )
    p.add_argument("--seeds", type=int, default=None, help="number of seeds, 0..N-1 (default: 3)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's or 200)")
    p.add_argument(
        "--preset",
        default=None,
        help="hyperparameter preset: 'teddy' (the TEDDY/UGS code's 512-wide GCN; UGS s1 = s2 = 1e-4; the default "
        "when one exists for model/dataset), 'teddy-ogb' (ogbn-arxiv: the TEDDY code's main_teddy_ogb.py settings, "
        "512-wide 2-layer GCN, 200 epochs, 20 rounds of pg = pw = 0.1, λ = 0.1; the default there), "
        "'paper' (Kipf & Welling's 16-wide GCN), 'none' (library defaults)",
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden channels (default: the preset's or model's)")
    p.add_argument("--split", default=None, help="split name (default: 'public' if present)")
    p.add_argument(
        "--sparse-features",
        action="store_true",
        default=None,
        help="give the model its features as a CSR tensor, dropout on the stored entries (the 'teddy' preset's "
        "setting; much faster for wide bag-of-words features such as Coauthor Physics'; full batch only)",
    )
    p.add_argument("--plot", default=None, help="plot path (default: runs/glt_<dataset>_<model>_<task>.png)")
    p.add_argument(
        "--task",
        default=None,
        type=opt.lower,
        choices=("node", "link"),
        help="task the tickets are trained for (default: node)",
    )
    for option in method_options_by_flag().values():
        p.add_argument(opt.flag(option.name), type=option.convert, default=None, help=option.help)
    p.add_argument(
        "--batching",
        default=None,
        type=opt.lower,
        choices=("full", "cluster"),
        help="node task: full-batch training (default) or Cluster-GCN mini-batches (METIS parts, full-graph "
        "evaluation) for every level",
    )
    p.add_argument("--parts", type=int, default=None, help="--batching cluster: METIS parts (default: by graph size)")
    p.add_argument(
        "--clusters-per-batch", type=int, default=None, help="--batching cluster: clusters per batch (default 20)"
    )
    p.add_argument(
        "--accumulate",
        type=int,
        default=None,
        metavar="K",
        help="--batching cluster in memory: batches whose gradients one optimizer step averages (default 1: a step "
        "per batch, as Cluster-GCN; 0: every batch of the epoch, one step an epoch as full-batch training takes)",
    )
    p.add_argument(
        "--on-disk",
        action="store_true",
        help="--batching cluster: read every batch from a part-ordered disk graph (memory maps; written once, cached); "
        "the level's pruning is applied as each batch is cut, evaluation is batched",
    )
    p.add_argument(
        "--disk",
        default=None,
        metavar="FOLDER",
        help="search a disk graph folder instead of --dataset, never loading it whole (implies --batching cluster; "
        "e.g. written by graphsparse.data.synthetic_dcsbm_to_disk or ogb_to_disk_graph; a one-part folder is "
        "partitioned with METIS first, cached; its features are used as stored)",
    )
    p.add_argument(
        "--train-only",
        action="store_true",
        help="--disk: METIS partitions only the subgraph of the split's training nodes (as the Cluster-GCN authors' "
        "code does; METIS of a 30M-edge graph needs 7 GB, of its training graph under 3 GB); every other node joins "
        "the part most of its training neighbours are in",
    )
    p.add_argument(
        "--save-tickets",
        default=None,
        metavar="DIR",
        help="save each level's ticket (edge keep-mask, weight masks, θ0, provenance; trained weights beside it) as "
        "DIR/<method>/round<k>/seed<s>/ticket.pt; the paths are recorded in the store. Reload with "
        "`graphsparse ticket eval|compact`",
    )
    opt.add_tensorboard_option(p)
    opt.add_parallel_options(p)
    opt.add_common(p)
    p.set_defaults(handler=run)


def check(args: argparse.Namespace) -> tuple[str, list[str]]:
    """Check every option value and refuse those that do not apply; returns (task, method names)."""
    from ..sparsify.methods import check_methods, method_class

    opt.check_values(args, CHECKS)
    task = args.task if args.task is not None else "node"
    if args.batching == "full":
        args.batching = None
    options = method_options_by_flag()
    opt.refuse_inapplicable(args, (*ACCEPTED[task], *options), f"glt --task {task}", HINTS)
    if args.batching is None:
        for dest in ("parts", "clusters_per_batch", "accumulate", "on_disk", "train_only"):
            if opt.given(args, dest):
                raise ValueError(f"{opt.flag(dest)} applies to --batching cluster only")
    elif opt.given(args, "sparse_features"):
        raise ValueError(
            "--sparse-features applies to --batching full only (Cluster-GCN batches carry the features as stored; "
            "a --disk folder keeps wide sparse features as CSR already)"
        )
    methods = check_methods(args.method if args.method is not None else DEFAULT_METHODS)
    declared = {o.name: name for name in methods for o in method_class(name).options}
    for dest, option in options.items():
        if not opt.given(args, dest):
            continue
        if dest not in declared:
            owners = option_owners(dest)
            raise ValueError(
                f"{opt.flag(dest)} is an option of {' / '.join(owners)}: it applies only with "
                f"{' or '.join(owners)} in --method (got {','.join(methods)})"
            )
        setattr(args, dest, option.check(opt.flag(dest), getattr(args, dest)))
    from ..sparsify.methods import MethodSetup

    configured_methods(args, methods, MethodSetup(task=task))  # what a method refuses, before any data is read
    return task, methods


def run(args: argparse.Namespace) -> None:
    """Run the search of every (dataset, model) of the grid (one pair: one search).

    Each prints its table (or one JSON object per line) and writes its plot; with ``--workers``/``--ray-address``
    the units run on Ray.
    """
    from ..utils import resolve_device
    from .grid import run_grid, split_list

    if args.disk is not None:
        from ..data.diskgraph import DiskGraph

        if args.dataset is not None:
            raise ValueError(f"--disk {args.disk}: give either --dataset or --disk FOLDER, not both")
        if args.task not in (None, "node"):  # before --batching is implied below, which would be blamed instead
            raise ValueError(f"--disk {args.disk}: a disk graph is searched for node classification only (--task node)")
        if args.batching == "full":
            raise ValueError(
                f"--disk {args.disk}: a disk graph is searched on Cluster-GCN batches, not --batching full"
            )
        args.batching = "cluster"
        args.dataset = str(DiskGraph.read_meta(args.disk)["name"])  # names the search; nothing is loaded by it
    elif args.dataset is None:
        raise ValueError("--dataset is required (or --disk FOLDER)")
    datasets = 1 if args.disk is not None else len(split_list("--dataset", args.dataset))  # a folder: one name
    grid = datasets * len(split_list("--model", args.model)) > 1
    if grid and args.plot:
        raise ValueError(
            "--plot names one file: a grid (several --dataset/--model) writes one plot per "
            "combination, runs/glt_<dataset>_<model>_<task>.png; leave --plot out"
        )
    if grid and args.save_tickets:
        raise ValueError(
            "--save-tickets names one folder: run the combinations of a grid one by one to save their tickets"
        )
    device = resolve_device(args.device if args.device is not None else "cpu")
    run_grid(args, check, run_search, device, protocol=grid_protocol, command="graphsparse glt")
    return None


def grid_protocol(args: argparse.Namespace) -> dict[str, Any] | None:
    """What a grid compares between its rows (checked options).

    That is the preset and the training settings that make scores comparable; None for link prediction (one
    protocol for every model). Raises ValueError when the row's preset is not registered for its model and dataset.
    """
    from .train import protocol_fields

    task, methods = check(argparse.Namespace(**vars(args)))
    if task != "node":
        return None
    setup = resolve_glt(args, dataset_key(args), methods)
    return {"preset": setup["preset"], **protocol_fields(setup["config"])}


def run_search(args: argparse.Namespace, executor: Any = None) -> None:
    """One search (one dataset, one model): print a table (or one JSON object) and write the plot."""
    from ..experiments.tracking import tracked
    from ..sparsify import parse_levels
    from ..sparsify.search import glt_levels
    from ..utils import resolve_device
    from .preflight import preflight

    task_name, method_names = check(args)
    rounds, pg, pw = glt_schedule(args, task_name)
    levels = glt_levels(rounds, pg, pw)
    if args.levels is not None:
        from ..sparsify.methods import method_class

        wanted = parse_levels(args.levels, rounds)
        iterative = [n for n in method_names if method_class(n).iterative]
        if iterative and wanted != set(range(1, max(wanted) + 1)):
            raise ValueError(
                f"--levels {args.levels!r}: {', '.join(iterative)} is iterative and needs every round 1..k; run it "
                "without --levels (or with '1-k'), or restrict --levels to one-shot methods"
            )
        levels = [level for level in levels if level[0] in wanted]
    device = resolve_device(args.device if args.device is not None else "cpu")
    writer = opt.tensorboard_writer(args)  # the package is checked now; its folder is made at the first level
    plot_name = re.sub(r"[^A-Za-z0-9._-]", "_", dataset_key(args))  # a --disk folder's name is the user's text
    default_plot = Path("runs") / f"glt_{plot_name}_{args.model}_{task_name}.png"
    plot_path = Path(args.plot) if args.plot else default_plot
    # the database and the plot path are checked before the first epoch (exit 2 naming the path if not writable)
    outputs = preflight(
        args,
        plot=plot_path,
        folders=[
            (flag, path)
            for flag, path in (("--save-tickets", args.save_tickets), ("--tensorboard", args.tensorboard))
            if path is not None
        ],
        datasets=[] if args.disk is not None else [args.dataset],  # found before the database is created
        unit="levels",
        resume="rerun the same command to resume (stored levels are loaded, not retrained)",
    )
    store = outputs.store
    from .runs import invocation_record

    store.invocation = invocation_record(device)  # recorded with every GLT level this search commits
    parallel = executor.describe() if executor is not None else {"executor": "serial", "workers": 1}
    store.invocation["parallel"] = parallel
    try:  # every level stored is written to TensorBoard too (--tensorboard)
        _search(args, executor, outputs, tracked(store, writer), device, task_name, method_names, levels, plot_path)
    finally:
        if writer is not None:
            writer.close()


def _search(
    args: argparse.Namespace,
    executor: Any,
    outputs: Any,
    store: Any,
    device: Any,
    task_name: str,
    method_names: list[str],
    levels: list[Any],
    plot_path: Path,
) -> None:
    """The search of :func:`run_search` once its outputs are checked: train, print, plot."""
    from ..data import load_dataset
    from ..experiments.document import STD_POPULATION
    from ..experiments.plots import plot_glt
    from ..experiments.tables import print_glt_table, search_timing
    from ..nn import build_model
    from ..sparsify.methods import MethodSetup
    from ..sparsify.search import glt_search

    seeds = args.seeds if args.seeds is not None else 3
    rounds, pg, pw = glt_schedule(args, task_name)
    parallel = store.invocation["parallel"]
    graph = disk_graph(args) if args.disk is not None else load_dataset(args.dataset)
    model_options: dict[str, Any] = {}
    ticket_model = args.model
    if task_name == "link":
        factory, config, task = link_setup(args, graph)
        preset_name = None
        methods = configured_methods(args, method_names, MethodSetup(dataset=graph.name, task="link"))
        if args.hidden is not None:
            model_options["hidden_channels"] = args.hidden
        ticket_model = "gae" if args.model == "gcn" else args.model
    else:
        setup = resolve_glt(args, graph.name, method_names)
        preset_name, config, model_options = setup["preset"], setup["config"], setup["model_options"]
        methods = setup["methods"]
        build_model(args.model, graph.num_features, graph.num_classes, **model_options)  # fail fast on bad options

        def factory():
            return build_model(args.model, graph.num_features, graph.num_classes, **model_options)

        task = node_trainer(args, graph, config)
        if args.disk is not None or args.on_disk:
            graph = task.graph_for_seed(0, 0)  # written or partitioned here, once, before any unit runs
    from tqdm.auto import tqdm

    bar = tqdm(
        total=1 + len(methods) * len(levels),
        desc=f"glt {graph.name}/{args.model}",
        unit="level",
        disable=args.no_progress,
    )

    def progress(result: Any) -> None:
        if result.cached:
            outputs.loaded += 1
        bar.set_postfix_str(f"{result.method} r{result.round} {task.metric}={100 * result.test_mean:.1f}")
        bar.update(1)

    batching = "cluster" if args.batching == "cluster" else None
    key_prefix = f"glt|{args.model}|{preset_name}"  # the trainer's description (batching too) is in the key's hash
    try:  # the bar ends before an interruption's one-line message
        results = list(
            glt_search(
                graph,
                factory,
                methods=methods,
                levels=levels,
                seeds=list(range(seeds)),
                task=task,
                store=store,
                key_prefix=key_prefix,
                progress=progress,
                device=device,
                ticket_dir=args.save_tickets,
                executor=executor,
                ticket_provenance={
                    "model": ticket_model,
                    "model_options": json.dumps(model_options, sort_keys=True),
                    "preset": preset_name,
                    "split": args.split,
                },
            )
        )
    finally:
        bar.close()
    dense, rows = results[0], results[1:]
    labels = {m.name: m.label for m in methods}
    method_options = {m.name: m.describe() for m in methods}
    if args.json:
        from ..experiments.document import command_document
        from .node_setup import resolved_model_options, runtime_config

        if task_name == "link":
            from ..nn.gae import build_link_model

            resolved = resolved_model_options(build_link_model, model_options, skip=3)
        else:
            from ..nn import MODELS

            resolved = resolved_model_options(MODELS[args.model], model_options)
        described = task.describe()
        resolved_config = {
            "preset": preset_name,
            "model_options": resolved,
            "train": vars(config),
            "split": args.split,
            "batching": described.get("batching", "full"),
            # the batches (parts, clusters per batch, accumulate, train-only) and a --disk folder, where batched
            **({"cluster": {"accumulate": 1, **described["cluster"]}} if "cluster" in described else {}),
            **({"disk": str(args.disk)} if args.disk is not None else {}),
            "methods": method_names,
            "method_options": method_options,
            "rounds": rounds,
            "pg": pg,
            "pw": pw,
            "levels": args.levels,
            "save_tickets": args.save_tickets,
            "parallel": parallel,
            **runtime_config(device),
        }
        metric = task.metric
        out = command_document(
            "glt",
            dataset=graph.name,
            model=args.model,
            task=task.name,
            metric=metric,
            seeds=list(range(seeds)),
            config=resolved_config,
            summary={f"test_{metric}": {"mean": dense.test_mean, "std": dense.test_std}},
            extra={
                "preset": preset_name,
                "epochs": config.epochs,
                "model_options": model_options,
                "method_options": method_options,
                "labels": labels,
                "levels": [_level_json(r) for r in rows],
                "dense": _level_json(dense),
                "timing": search_timing(rows),
            },
            std=STD_POPULATION,  # the levels' std (graphsparse.sparsify.records), as the published GLT tables
        )
        print(json.dumps(out, sort_keys=True, default=float))
    else:
        print_glt_table(graph.name, args.model, preset_name, dense, rows, metric=task.metric)
    hidden = model_options.get("hidden_channels")
    title = f"{graph.name} / {args.model}" + (f" ({hidden} hidden)" if hidden else "") + f", {task.name} task"
    if batching:
        title += ", Cluster-GCN batches"
    plot_glt(dense, rows, plot_path, title=title, metric=task.metric, labels=labels)
    print(f"plot: {plot_path}", file=sys.stderr if args.json else sys.stdout)
    return None


def _level_json(result: Any) -> dict[str, Any]:
    """A level as the JSON document lists it.

    Its summary (scores under the metric's name) and the keys of ``_KEYS`` (``tickets`` only when saved).
    """
    summary = result.summary()
    return {k: v for k, v in summary.items() if k in _KEYS or k.startswith("test_")}
