"""Robustness to spurious edges: GCN vs TWIRLS vs TWIRLS+attention when k% random edges are added.

For k in ``--ratios`` (default 0, 0.2, 0.5, 1.0 of |E|) and each seed s, ``add_random_edges(graph, k, seed=s)``
adds ``round(k |E|)`` new undirected edges drawn uniformly among node pairs that are neither self-loops nor
existing edges (so the graph really gains k|E| edges); the model is then trained on the public split with
``seed_everything(s)``. Models and their options:

* ``gcn``: Kipf & Welling (``--preset paper``);
* ``twirls``: the authors' command for perturbed graphs (``twirls --preset attack``: S = 32 on Cora, 64 on
  CiteSeer, λ = 1, α = 1/(1+λ); the attention commands below use α = 1);
* ``twirls-att``: the same with IRLS attention (``twirls-att --preset attack``: p = 0.1, τ = 0.2), computed once
  after S // 2 steps;
* ``twirls-att-bef``: the same attention also computed from Y0 before the first step (``--preset attack-bef``,
  the authors' ``--attn_bef`` flag): random edges join nodes with dissimilar features, so weighting them down
  before propagation mixes their ends keeps them from spreading.

On CiteSeer the three TWIRLS models use weight decay 5e-5 instead of the commands' 1e-3 (see
``TWIRLS_TRAIN_OVERRIDES``: with 1e-3 the IRLS weights are all capped at 1/τ and attention is inert).

Writes a JSON file (per dataset, model, ratio: mean, std and the per-seed accuracies; finished cells are kept
when re-running), a markdown table and a plot (accuracy vs k, one panel per dataset).

Usage::

    python benchmarks/twirls_robustness.py                       # cora, citeseer; 3 seeds
    python benchmarks/twirls_robustness.py --datasets cora --ratios 0,1 --seeds 1 --epochs 20 --out /tmp/r.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from graphsparse.data import load_dataset  # noqa: E402
from graphsparse.graph import Graph, GraphError  # noqa: E402
from graphsparse.nn import build_model  # noqa: E402
from graphsparse.presets import resolve_preset  # noqa: E402
from graphsparse.tasks.node import NodeTrainConfig, row_normalize_features, train_node  # noqa: E402
from graphsparse.utils import seed_everything  # noqa: E402

MODELS = {
    "gcn": ("gcn", "paper"),
    "twirls": ("twirls", "attack"),
    "twirls-att": ("twirls-att", "attack"),
    "twirls-att-bef": ("twirls-att", "attack-bef"),
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "twirls"
# CiteSeer: the TWIRLS models train with weight decay 5e-5 (the authors' Cora value) instead of their CiteSeer
# commands' 1e-3. With 1e-3 the trained Y0 is tiny (mean row norm 0.05 at k = 100%), every squared edge distance
# is below τ = 0.2 and every IRLS weight equals 1/τ, so attention does nothing; with 5e-5 the weights average
# 1.15 on original and 0.55 on spurious edges. Applied to all three TWIRLS models alike (not to GCN).
TWIRLS_TRAIN_OVERRIDES = {"citeseer": {"weight_decay": 5e-5}}


def add_random_edges(graph: Graph, ratio: float, seed: int = 0) -> Graph:
    """A new graph with ``round(ratio * |E|)`` extra undirected edges, uniform over absent non-loop pairs."""
    if not ratio >= 0:
        raise ValueError(f"ratio of random edges must be >= 0, got {ratio}")
    n, m = graph.num_nodes, graph.num_edges
    want = int(round(ratio * m))
    if want == 0:
        return graph
    if m + want > n * (n - 1) // 2:
        raise GraphError(f"cannot add {want} edges to {graph.name!r}: only {n * (n - 1) // 2 - m} pairs are free")
    gen = torch.Generator().manual_seed(seed)
    known = set((graph.edges[0] * n + graph.edges[1]).tolist())
    new: list[int] = []
    while len(new) < want:
        pairs = torch.randint(0, n, (2, 2 * (want - len(new))), generator=gen)
        u, v = pairs.min(0).values, pairs.max(0).values
        for key in (u * n + v)[u != v].tolist():
            if key not in known:
                known.add(key)
                new.append(key)
                if len(new) == want:
                    break
    extra = torch.tensor(new, dtype=torch.long)
    edges = torch.cat([graph.edges, torch.stack([extra // n, extra % n])], dim=1)
    return graph.replace(edge_index=edges)


def run_one(graph: Graph, model_name: str, seed: int, epochs: int | None) -> float:
    name, preset_name = MODELS[model_name]
    preset = resolve_preset(name, graph.name, preset_name)
    train = dict(preset["train"])
    if name.startswith("twirls"):
        train.update(TWIRLS_TRAIN_OVERRIDES.get(graph.name, {}))
    if epochs is not None:
        train["epochs"] = epochs
    config = NodeTrainConfig(**train)
    if config.normalize_features:
        graph = row_normalize_features(graph)
    seed_everything(seed)
    model = build_model(name, graph.num_features, graph.num_classes, **preset["model"])
    return train_node(graph, model, graph.split("public"), config, seed=seed, split_name="public").test_acc


def table(results: dict, datasets: list[str], ratios: list[float]) -> str:
    head = "| dataset | model | " + " | ".join(f"k = {int(round(100 * r))}%" for r in ratios) + " | drop 0→max |"
    lines = [head, "|---|---|" + "---:|" * (len(ratios) + 1)]
    for dataset in datasets:
        for model in MODELS:
            cells, means = [], []
            for r in ratios:
                cell = results.get(dataset, {}).get(model, {}).get(f"{r:g}")
                if cell is None:
                    cells.append("—")
                    continue
                means.append(cell["mean"])
                cells.append(f"{100 * cell['mean']:.1f} ± {100 * cell['std']:.1f}")
            drop = f"{100 * (means[0] - means[-1]):.1f}" if len(means) == len(ratios) else "—"
            lines.append(f"| {dataset} | {model} | " + " | ".join(cells) + f" | {drop} |")
    return "\n".join(lines) + "\n"


def plot(results: dict, datasets: list[str], ratios: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for model, style in zip(MODELS, ("o-", "s-", "^-", "v-")):
            cells = [results.get(dataset, {}).get(model, {}).get(f"{r:g}") for r in ratios]
            xs = [100 * r for r, c in zip(ratios, cells) if c]
            ys = [100 * c["mean"] for c in cells if c]
            es = [100 * c["std"] for c in cells if c]
            ax.errorbar(xs, ys, yerr=es, fmt=style, capsize=3, label=model)
        ax.set_title(f"{dataset}: random edges added")
        ax.set_xlabel("added edges, % of |E|")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="cora,citeseer")
    parser.add_argument("--ratios", default="0,0.2,0.5,1.0")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS), help=f"subset of {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, default=None, help="override the presets' epochs (smoke tests)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(DOCS / "robustness.json"))
    parser.add_argument("--table", default=str(DOCS / "robustness.md"))
    parser.add_argument("--plot", default=str(DOCS / "robustness.png"))
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    datasets = [d.strip().lower() for d in args.datasets.split(",") if d.strip()]
    ratios = [float(r) for r in args.ratios.split(",")]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise ValueError(f"unknown --models {', '.join(unknown)}; known: {', '.join(MODELS)}")
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    for dataset in datasets:
        base = load_dataset(dataset)
        for r in ratios:
            graphs = [add_random_edges(base, r, seed) for seed in range(args.seeds)]
            for model in models:
                cells = results.setdefault(dataset, {}).setdefault(model, {})
                if f"{r:g}" in cells and len(cells[f"{r:g}"]["runs"]) == args.seeds:
                    continue
                start = time.perf_counter()
                accs = [run_one(g, model, seed, args.epochs) for seed, g in enumerate(graphs)]
                cells[f"{r:g}"] = {
                    "mean": statistics.fmean(accs),
                    "std": statistics.pstdev(accs),
                    "runs": accs,
                    "num_edges": graphs[0].num_edges,
                }
                out.write_text(json.dumps(results, indent=1, sort_keys=True))
                print(
                    f"{dataset} k={r:g} {model}: {100 * statistics.fmean(accs):.2f} "
                    f"({time.perf_counter() - start:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    Path(args.table).write_text(table(results, datasets, ratios))
    plot(results, datasets, ratios, Path(args.plot))
    print(json.dumps(results, sort_keys=True) if args.json else table(results, datasets, ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
