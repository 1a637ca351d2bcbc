"""``graphsparse glt``: graph lottery ticket search from the command line (table or JSON, plus a plot).

Defaults are the GLT papers' protocol (the published TEDDY-protocol tables in docs/glt/README.md): the 512-wide
GCN of the TEDDY/UGS reference code where it is registered ('teddy' preset: Cora, CiteSeer, PubMed), TEDDY with
its distillation λ = 10 (``--distill 0`` switches it off; it applies to the teddy method only) and UGS with
s1 = s2 = 1e-4 on that backbone. ``--preset paper`` is Kipf & Welling's 16-wide GCN (with the UGS reference's
coefficients), ``--preset none`` the library defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import options as opt

__all__ = ["add_parser", "run", "CHECKS", "resolve_glt"]

CHECKS: dict[str, opt.Check] = {
    "rounds": opt.positive_int,
    "pg": opt.probability,
    "pw": opt.probability,
    "seeds": opt.positive_int,
    "epochs": opt.positive_int,
    "hidden": opt.positive_int,
    "s1": opt.nonnegative_float,
    "s2": opt.nonnegative_float,
    "distill": opt.nonnegative_float,
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
    "workers",
    "ray_address",
)
ACCEPTED = {
    "node": (*_BASE, "preset", "split", "distill", "s1", "s2"),
    "link": (*_BASE, "s1", "s2"),
}
HINTS = {"preset": "--task node", "split": "--task node", "distill": "--task node (the teddy method)"}
DEFAULT_METHODS = "teddy,random"
_KEYS = (
    "method",
    "round",
    "graph_sparsity",
    "weight_sparsity",
    "test_acc_mean",
    "test_acc_std",
    "test_accs",
    "seconds",
    "tickets",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..sparsify.search import GLT_METHODS

    p = sub.add_parser(
        "glt",
        help="graph lottery ticket search (TEDDY, UGS, random)",
        description="Search for graph lottery tickets at matched graph/weight sparsity levels; resumable. Defaults "
        "follow the TEDDY protocol: 512-wide GCN where registered, TEDDY + KD (λ = 10), UGS s1 = s2 = 1e-4.",
    )
    p.add_argument(
        "--dataset",
        required=True,
        help="dataset name (see `graphsparse datasets`), or a comma-separated list: with --model x,y a grid, "
        "searched one combination after the other",
    )
    opt.add_model_option(p)
    p.add_argument(
        "--method",
        default=None,
        help=f"comma-separated GLT methods: {', '.join(GLT_METHODS)} (default: {DEFAULT_METHODS})",
    )
    p.add_argument("--rounds", type=int, default=None, help="pruning rounds / levels (default: 20)")
    p.add_argument(
        "--levels",
        default=None,
        help="only these rounds of the schedule, e.g. '15-20' or '1,10,20' (one-shot methods: teddy, random; "
        "UGS needs every round up to its last). Default: all 1..--rounds",
    )
    p.add_argument("--pg", type=float, default=None, help="graph pruning rate per round, in [0, 1) (default: 0.05)")
    p.add_argument("--pw", type=float, default=None, help="weight pruning rate per round, in [0, 1) (default: 0.2)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds, 0..N-1 (default: 3)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's or 200)")
    p.add_argument(
        "--preset",
        default=None,
        help="hyperparameter preset: 'teddy' (the TEDDY/UGS code's 512-wide GCN; UGS s1 = s2 = 1e-4; the default "
        "when one exists for model/dataset), 'paper' (Kipf & Welling's 16-wide GCN), 'none' (library defaults)",
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden channels (default: the preset's or model's)")
    p.add_argument("--split", default=None, help="split name (default: 'public' if present)")
    p.add_argument("--plot", default=None, help="plot path (default: runs/glt_<dataset>_<model>.png)")
    p.add_argument(
        "--task",
        default=None,
        type=opt.lower,
        choices=("node", "link"),
        help="task the tickets are trained for (default: node)",
    )
    p.add_argument(
        "--s1",
        type=float,
        default=None,
        help="UGS l1 coefficient of the edge mask (default: 1e-4 on the 'teddy' backbone, else the UGS "
        "reference's: 1e-2, 1e-6 on PubMed); needs ugs in --method",
    )
    p.add_argument(
        "--s2",
        type=float,
        default=None,
        help="UGS l1 coefficient of the weight masks (default: 1e-4 on the 'teddy' backbone, else the UGS "
        "reference's: 1e-2, 1e-3 on PubMed); needs ugs in --method",
    )
    p.add_argument(
        "--distill",
        type=float,
        default=None,
        help="λ of TEDDY's distillation term (CE + λ·KL to a dense teacher, all nodes) for the teddy method; "
        "node task only (default: 10, the TEDDY paper's; 0 = off)",
    )
    p.add_argument(
        "--save-tickets",
        default=None,
        metavar="DIR",
        help="save each level's ticket (edge keep-mask, weight masks, θ0, provenance; trained weights beside it) as "
        "DIR/<method>/round<k>/seed<s>/ticket.pt; the paths are recorded in the store. Reload with "
        "`graphsparse ticket eval|compact`",
    )
    opt.add_parallel_options(p)
    opt.add_common(p)
    p.set_defaults(handler=run)


def check(args: argparse.Namespace) -> tuple[str, list[str]]:
    """Check every option value and refuse those that do not apply; returns (task, methods)."""
    from ..sparsify.search import check_methods

    opt.check_values(args, CHECKS)
    task = args.task if args.task is not None else "node"
    opt.refuse_inapplicable(args, ACCEPTED[task], f"glt --task {task}", HINTS)
    methods = check_methods(args.method if args.method is not None else DEFAULT_METHODS)
    if "ugs" not in methods:
        for dest in ("s1", "s2"):
            if opt.given(args, dest):
                raise ValueError(
                    f"{opt.flag(dest)} is a UGS coefficient: it applies only with ugs in --method "
                    f"(got {','.join(methods)})"
                )
    if "teddy" not in methods and args.distill:
        raise ValueError(f"--distill applies to the teddy method only (got --method {','.join(methods)})")
    return task, methods


def resolve_glt(args: argparse.Namespace, dataset: str, methods: list[str]) -> dict[str, Any]:
    """Preset name, node training config, model options, UGS coefficients and λ of a node-task search."""
    from ..presets import GLT_DISTILL, default_preset, resolve_preset
    from ..sparsify.ugs import ugs_l1_coefficients
    from ..tasks.node import NodeTrainConfig
    from .node_setup import dataset_metric

    preset_name = args.preset if args.preset is not None else default_preset(args.model, dataset, "glt")
    preset = resolve_preset(args.model, dataset, preset_name)
    train = dict(preset["train"])
    if args.epochs is not None:
        train["epochs"] = args.epochs
    train["metric"] = dataset_metric(dataset)
    model_options = dict(preset["model"])
    if args.hidden is not None:
        model_options["hidden_channels"] = args.hidden
    default_s1, default_s2 = ugs_l1_coefficients(dataset, "teddy" if preset_name == "teddy" else "ugs")
    distill = args.distill if args.distill is not None else (GLT_DISTILL if "teddy" in methods else 0.0)
    return {
        "preset": None if preset_name is None or preset_name.lower() == "none" else preset_name,
        "config": NodeTrainConfig(**train),
        "model_options": model_options,
        "s1": default_s1 if args.s1 is None else args.s1,
        "s2": default_s2 if args.s2 is None else args.s2,
        "distill": distill,
    }


def run(args: argparse.Namespace) -> None:
    """Run the search of every (dataset, model) of the grid (one pair: one search), each printing its table (or
    one JSON object per line) and writing its plot; with ``--workers``/``--ray-address`` the units run on Ray."""
    from ..utils import resolve_device
    from .grid import run_grid, split_list

    grid = len(split_list("--dataset", args.dataset)) * len(split_list("--model", args.model)) > 1
    if grid and args.plot:
        raise ValueError(
            "--plot names one file: a grid (several --dataset/--model) writes one plot per "
            "combination, runs/glt_<dataset>_<model>.png; leave --plot out"
        )
    if grid and args.save_tickets:
        raise ValueError(
            "--save-tickets names one folder: run the combinations of a grid one by one to save their tickets"
        )
    device = resolve_device(args.device if args.device is not None else "cpu")
    run_grid(args, check, run_search, device)
    return None


def run_search(args: argparse.Namespace, executor: Any = None) -> None:
    """One search (one dataset, one model): print a table (or one JSON object) and write the plot."""
    from ..data import canonical_name, load_dataset
    from ..experiments.report import plot_glt, print_glt_table, search_timing
    from ..nn import build_model
    from ..sparsify import parse_levels
    from ..sparsify.search import glt_levels, glt_search
    from ..sparsify.ugs import ugs_l1_coefficients
    from ..utils import resolve_device
    from .preflight import preflight

    task_name, methods = check(args)
    rounds = args.rounds if args.rounds is not None else 20
    levels = glt_levels(rounds, 0.05 if args.pg is None else args.pg, 0.2 if args.pw is None else args.pw)
    if args.levels is not None:
        wanted = parse_levels(args.levels, rounds)
        if "ugs" in methods and wanted != set(range(1, max(wanted) + 1)):
            raise ValueError(
                f"--levels {args.levels!r}: UGS is iterative and needs every round 1..k; run UGS "
                "without --levels (or with '1-k'), or restrict --levels to teddy/random"
            )
        levels = [level for level in levels if level[0] in wanted]
    seeds = args.seeds if args.seeds is not None else 3
    device = resolve_device(args.device if args.device is not None else "cpu")
    plot_path = Path(args.plot) if args.plot else Path("runs") / f"glt_{canonical_name(args.dataset)}_{args.model}.png"
    # the database and the plot path are checked before the first epoch (exit 2 naming the path if not writable)
    outputs = preflight(
        args,
        plot=plot_path,
        folders=[("--save-tickets", args.save_tickets)] if args.save_tickets is not None else (),
        unit="levels",
        resume="rerun the same command to resume (stored levels are loaded, not retrained)",
    )
    store = outputs.store
    from .runs import invocation_record

    store.invocation = invocation_record(device)  # recorded with every GLT level this search commits
    parallel = executor.describe() if executor is not None else {"executor": "serial", "workers": 1}
    store.invocation["parallel"] = parallel
    graph = load_dataset(args.dataset)
    model_options: dict[str, Any] = {}
    ticket_model = args.model
    if task_name == "link":
        factory, config, task = _link_setup(args, graph)
        preset_name, distill = None, 0.0
        s1, s2 = ugs_l1_coefficients(graph.name, "ugs")
        s1, s2 = (s1 if args.s1 is None else args.s1), (s2 if args.s2 is None else args.s2)
        if args.hidden is not None:
            model_options["hidden_channels"] = args.hidden
        ticket_model = "gae" if args.model == "gcn" else args.model
    else:
        from ..sparsify.task import NodeGLTTask

        setup = resolve_glt(args, graph.name, methods)
        preset_name, config, model_options = setup["preset"], setup["config"], setup["model_options"]
        s1, s2, distill = setup["s1"], setup["s2"], setup["distill"]
        build_model(args.model, graph.num_features, graph.num_classes, **model_options)  # fail fast on bad options

        def factory():
            return build_model(args.model, graph.num_features, graph.num_classes, **model_options)

        task = NodeGLTTask(graph, config, args.split)
    from tqdm.auto import tqdm

    bar = tqdm(
        total=1 + len(methods) * len(levels),
        desc=f"glt {graph.name}/{args.model}",
        unit="level",
        disable=args.no_progress,
    )

    def progress(result: dict[str, Any]) -> None:
        if result.get("cached"):
            outputs.loaded += 1
        bar.set_postfix_str(f"{result['method']} r{result['round']} {task.metric}={100 * result['test_acc_mean']:.1f}")
        bar.update(1)

    try:  # the bar ends before an interruption's one-line message
        results = list(
            glt_search(
                graph,
                factory,
                methods,
                levels,
                list(range(seeds)),
                config,
                store,
                key_prefix=f"glt|{args.model}|{preset_name}",
                progress=progress,
                split=args.split,
                device=device,
                task=task,
                distill=distill,
                s1=s1,
                s2=s2,
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
    if args.json:
        from ..experiments.report import command_document
        from .node_setup import resolved_model_options, runtime_config

        if task_name == "link":
            from ..nn.gae import build_link_model

            resolved = resolved_model_options(build_link_model, model_options, skip=3)
        else:
            from ..nn import MODELS

            resolved = resolved_model_options(MODELS[args.model], model_options)
        ugs_l1 = {"s1": s1, "s2": s2} if "ugs" in methods else None
        resolved_config = {
            "preset": preset_name,
            "model_options": resolved,
            "train": vars(config),
            "split": args.split,
            "methods": methods,
            "rounds": rounds,
            "pg": 0.05 if args.pg is None else args.pg,
            "pw": 0.2 if args.pw is None else args.pw,
            "levels": args.levels,
            "distill": distill,
            "ugs_l1": ugs_l1,
            "save_tickets": args.save_tickets,
            "parallel": parallel,
            **runtime_config(device),
        }
        out = command_document(
            "glt",
            dataset=graph.name,
            model=args.model,
            task=task.name,
            metric=task.metric,
            seeds=list(range(seeds)),
            config=resolved_config,
            summary={f"test_{task.metric}": {"mean": dense["test_acc_mean"], "std": dense["test_acc_std"]}},
            extra={
                "preset": preset_name,
                "epochs": config.epochs,
                "model_options": model_options,
                "distill": distill,
                "ugs_l1": ugs_l1,
                "levels": [{k: r[k] for k in _KEYS if k in r or k != "tickets"} for r in rows],
                "dense": {k: dense[k] for k in _KEYS if k in dense or k != "tickets"},
                "timing": search_timing(rows),
            },
        )
        print(json.dumps(out, sort_keys=True, default=float))
    else:
        print_glt_table(graph.name, args.model, preset_name, dense, rows, metric=task.metric)
    hidden = model_options.get("hidden_channels")
    title = f"{graph.name} / {args.model}" + (f" ({hidden} hidden)" if hidden else "") + f", {task.name} task"
    labels = {"teddy": f"teddy + KD (λ = {distill:g})"} if distill else None
    plot_glt(dense, rows, plot_path, title=title, metric=task.metric, labels=labels)
    print(f"plot: {plot_path}", file=sys.stderr if args.json else sys.stdout)
    return None


def _link_setup(args: argparse.Namespace, graph: Any) -> tuple[Any, Any, Any]:
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
