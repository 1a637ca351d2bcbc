"""``graphsparse glt``: graph lottery ticket search from the command line (table or JSON, plus a plot)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .search import GLT_METHODS, check_methods, glt_levels, glt_search
from .ugs import ugs_l1_coefficients

__all__ = ["add_arguments", "run", "plot_glt", "search_timing"]

_KEYS = ("method", "round", "graph_sparsity", "weight_sparsity", "test_acc_mean", "test_acc_std", "seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``glt`` options (the CLI adds --db, --device, --json and --no-progress)."""
    parser.add_argument("--dataset", required=True, help="dataset name (see `graphsparse datasets`)")
    parser.add_argument("--model", default="gcn", help="model name (default: gcn)")
    parser.add_argument(
        "--method",
        default="teddy,random",
        help=f"comma-separated GLT methods: {', '.join(GLT_METHODS)} (default: teddy,random)",
    )
    parser.add_argument("--rounds", type=int, default=20, help="pruning rounds / levels (default: 20)")
    parser.add_argument(
        "--levels",
        default=None,
        help="only these rounds of the schedule, e.g. '15-20' or '1,10,20' (one-shot methods: teddy, random; "
        "UGS needs every round up to its last). Default: all 1..--rounds",
    )
    parser.add_argument("--pg", type=float, default=0.05, help="graph pruning rate per round (default: 0.05)")
    parser.add_argument("--pw", type=float, default=0.2, help="weight pruning rate per round (default: 0.2)")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default: 3)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's or 200)")
    parser.add_argument(
        "--preset",
        default=None,
        help="hyperparameter preset: 'paper' (Kipf & Welling's 16-wide GCN, the default when one exists for "
        "model/dataset), 'teddy' (the TEDDY/UGS code's 512-wide GCN; UGS s1 = s2 = 1e-4), 'none'",
    )
    parser.add_argument("--hidden", type=int, default=None, help="hidden channels (default: the preset's or model's)")
    parser.add_argument("--split", default=None, help="split name (default: 'public' if present)")
    parser.add_argument("--plot", default=None, help="plot path (default: runs/glt_<dataset>_<model>.png)")
    parser.add_argument(
        "--task", default="node", choices=("node", "link"), help="task the tickets are trained for (default: node)"
    )
    parser.add_argument(
        "--s1", type=float, default=None,
        help="UGS l1 coefficient of the edge mask (default: the UGS reference's, 1e-2, 1e-6 on PubMed; "
        "1e-4 with --preset teddy)",
    )
    parser.add_argument(
        "--s2", type=float, default=None,
        help="UGS l1 coefficient of the weight masks (default: the UGS reference's, 1e-2, 1e-3 on PubMed; "
        "1e-4 with --preset teddy)",
    )
    parser.add_argument(
        "--distill",
        type=float,
        default=0.0,
        help="λ of TEDDY's distillation term (CE + λ·KL to a dense teacher, all nodes); 0 = off (default)",
    )


def parse_levels(text: str, rounds: int) -> set[int]:
    """Rounds named by ``'15-20'``, ``'1,10,20'`` or a mix; each must lie in 1..rounds."""
    wanted: set[int] = set()
    for part in (p.strip() for p in str(text).split(",")):
        try:
            lo, _, hi = part.partition("-")
            first, last = int(lo), int(hi or lo)
        except ValueError:
            message = f"--levels: cannot read {part!r} in {text!r}; use rounds like '15-20' or '1,10,20'"
            raise ValueError(message) from None
        if not 1 <= first <= last <= rounds:
            raise ValueError(f"--levels: {part!r} is outside rounds 1..{rounds} (or reversed)")
        wanted.update(range(first, last + 1))
    return wanted


def _preset_name(model: str, dataset: str, preset: str | None) -> str | None:
    from ..nn.presets import PRESETS

    if preset is None:
        return "paper" if "paper" in PRESETS.get((model.lower(), dataset.lower()), {}) else None
    return None if preset.lower() == "none" else preset


def run(args: argparse.Namespace) -> None:
    """Run the search, print a table (or one JSON object) and write the plot; returns None."""
    from ..data import load_dataset
    from ..experiments import ResultsStore
    from ..nn import build_model
    from ..nn.presets import resolve_preset
    from ..tasks.node import NodeTrainConfig
    from ..utils import resolve_device

    methods = check_methods(args.method)
    levels = glt_levels(args.rounds, args.pg, args.pw)
    if args.levels is not None:
        wanted = parse_levels(args.levels, args.rounds)
        if "ugs" in methods and wanted != set(range(1, max(wanted) + 1)):
            raise ValueError(f"--levels {args.levels!r}: UGS is iterative and needs every round 1..k; run UGS "
                             "without --levels (or with '1-k'), or restrict --levels to teddy/random")
        levels = [level for level in levels if level[0] in wanted]
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {args.epochs}")
    if args.hidden is not None and args.hidden < 1:
        raise ValueError(f"--hidden must be >= 1, got {args.hidden}")
    device = resolve_device(args.device)
    graph = load_dataset(args.dataset)
    model_options: dict[str, Any] = {}
    if args.task == "link":
        factory, config, task, preset_name = _link_setup(args, graph)
    else:
        preset_name = _preset_name(args.model, graph.name, args.preset)
        preset = resolve_preset(args.model, graph.name, preset_name)
        train = dict(preset["train"])
        if args.epochs is not None:
            train["epochs"] = args.epochs
        config = NodeTrainConfig(**train)
        model_options = dict(preset["model"])
        if args.hidden is not None:
            model_options["hidden_channels"] = args.hidden
        build_model(args.model, graph.num_features, graph.num_classes, **model_options)  # fail fast on bad options

        def factory():
            return build_model(args.model, graph.num_features, graph.num_classes, **model_options)

        task = _build_task(args, graph, config)
    default_s1, default_s2 = ugs_l1_coefficients(graph.name, "teddy" if preset_name == "teddy" else "ugs")
    s1 = default_s1 if args.s1 is None else args.s1
    s2 = default_s2 if args.s2 is None else args.s2
    store = ResultsStore(args.db)
    total = 1 + len(methods) * len(levels)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=f"glt {graph.name}/{args.model}", unit="level", disable=args.no_progress)

    def progress(result: dict[str, Any]) -> None:
        bar.set_postfix_str(f"{result['method']} r{result['round']} acc={100 * result['test_acc_mean']:.1f}")
        bar.update(1)

    results = list(
        glt_search(
            graph,
            factory,
            methods,
            levels,
            list(range(args.seeds)),
            config,
            store,
            key_prefix=f"glt|{args.model}|{preset_name}",
            progress=progress,
            split=args.split,
            device=device,
            task=task,
            distill=args.distill,
            s1=s1,
            s2=s2,
        )
    )
    bar.close()
    dense = results[0]
    rows = results[1:]
    plot_path = Path(args.plot) if args.plot else Path("runs") / f"glt_{graph.name}_{args.model}.png"
    if args.json:
        out = {
            "dataset": graph.name,
            "model": args.model,
            "preset": preset_name,
            "seeds": args.seeds,
            "epochs": config.epochs,
            "model_options": model_options,
            "distill": args.distill,
            "ugs_l1": {"s1": s1, "s2": s2} if "ugs" in methods else None,
            "levels": [{k: r[k] for k in _KEYS} for r in rows],
            "dense": {k: dense[k] for k in _KEYS},
            "timing": search_timing(rows),
            "task": task.name,
            "metric": task.metric,
        }
        print(json.dumps(out, sort_keys=True))
    else:
        _print_table(graph.name, args.model, preset_name, dense, rows, metric=task.metric)
    plot_glt(dense, rows, plot_path, title=f"{graph.name} / {args.model} ({task.name})", metric=task.metric)
    print(f"plot: {plot_path}", file=sys.stderr if args.json else sys.stdout)
    return None


def _build_task(args: argparse.Namespace, graph: Any, config: Any) -> Any:
    """The GLT task of ``--task`` (see :mod:`graphsparse.sparsify.task` for the protocol)."""
    from .task import NodeGLTTask

    if args.task == "node":
        return NodeGLTTask(graph, config, args.split)
    raise ValueError(f"unknown --task {args.task!r}: use 'node' or 'link'")


def _link_setup(args: argparse.Namespace, graph: Any) -> tuple[Any, Any, Any, str | None]:
    """Model factory, training config and task of ``--task link`` (GAE-style: encoder + inner product, AUC)."""
    from ..nn.gae import build_link_model
    from ..tasks.link import LinkTrainConfig
    from ..tasks.link_glt import LinkGLTTask

    model_name = "gae" if args.model == "gcn" else args.model
    in_channels = graph.num_features if graph.x is not None else None
    options = {} if args.hidden is None else {"hidden_channels": args.hidden}
    build_link_model(model_name, in_channels, graph.num_nodes, **options)  # fail fast on an unknown model

    def factory():
        return build_link_model(model_name, in_channels, graph.num_nodes, **options)

    config = LinkTrainConfig(epochs=args.epochs or 200)
    return factory, config, LinkGLTTask(graph, config, distill=args.distill), None


def search_timing(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per method: ``sweep_seconds`` (all its levels) and ``final_ticket_seconds`` (what its last, sparsest
    ticket cost on its own: one level for one-shot methods, every round up to it for UGS, whose round k needs
    rounds 1..k-1). Seconds are as measured when each level was computed (cached levels keep theirs)."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["round"])
        sweep = float(sum(r["seconds"] for r in mine))
        final = sweep if method == "ugs" else float(mine[-1]["seconds"])
        out[method] = {"sweep_seconds": sweep, "final_ticket_seconds": final}
    return out


def _print_table(
    dataset: str, model: str, preset: str | None, dense: dict, rows: list[dict], metric: str = "acc"
) -> None:
    print(f"dataset={dataset}  model={model}  preset={preset}  seeds={len(dense.get('seeds', []))}")
    print(f"{'method':<8} {'round':>5} {'graph sp %':>10} {'weight sp %':>11} {f'test {metric} %':>16} {'seconds':>8}")
    for r in [dense, *rows]:
        acc = f"{100 * r['test_acc_mean']:.2f} ± {100 * r['test_acc_std']:.2f}"
        cached = "  (cached)" if r.get("cached") else ""
        print(
            f"{r['method']:<8} {r['round']:>5} {100 * r['graph_sparsity']:>10.2f} {100 * r['weight_sparsity']:>11.2f} "
            f"{acc:>16} {r['seconds']:>8.1f}{cached}"
        )
    for method, t in search_timing(rows).items():
        print(f"{method}: whole sweep {t['sweep_seconds']:.1f} s, final ticket {t['final_ticket_seconds']:.1f} s")


def plot_glt(dense: dict, rows: list[dict], path: str | Path, title: str = "", metric: str = "acc") -> Path:
    """Two panels, test accuracy vs graph sparsity and vs weight sparsity; dense baseline as a mean ± std band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    mean, std = 100 * dense["test_acc_mean"], 100 * dense["test_acc_std"]
    for ax, key, label in ((axes[0], "graph_sparsity", "graph"), (axes[1], "weight_sparsity", "weight")):
        ax.axhspan(mean - std, mean + std, color="grey", alpha=0.25, label=f"dense {mean:.1f} ± {std:.1f}")
        ax.axhline(mean, color="grey", lw=1)
        for method in methods:
            mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r[key])
            xs = [100 * r[key] for r in mine]
            ys = [100 * r["test_acc_mean"] for r in mine]
            es = [100 * r["test_acc_std"] for r in mine]
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, label=method)
        ax.set_xlabel(f"{label} sparsity (%)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)" if metric == "acc" else f"test {metric.upper()} (%)")
    axes[1].legend(loc="lower left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
