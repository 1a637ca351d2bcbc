"""Reports: mean ± std over seeds, tables (fixed decimals) and the GLT plot.

Nothing here changes global state at import: matplotlib is imported inside :func:`plot_glt` only, and its
backend is left to the caller (the ``graphsparse`` command selects a non-interactive one at start-up).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "summarize",
    "print_summary",
    "is_percent",
    "search_timing",
    "print_glt_table",
    "plot_glt",
    "print_dataset_table",
]


def summarize(rows: list[dict[str, Any]], keys: Sequence[str]) -> dict[str, float]:
    """``<key>_mean`` and ``<key>_std`` (population std over seeds) for each metric key."""
    import numpy as np

    out: dict[str, float] = {}
    for key in keys:
        values = np.array([float(r[key]) for r in rows], dtype=float)
        out[f"{key}_mean"] = float(values.mean()) if values.size else math.nan
        out[f"{key}_std"] = float(values.std()) if values.size else math.nan
    return out


def is_percent(name: str) -> bool:
    """Whether metric ``name`` is a fraction shown in % (accuracy, ROC-AUC, AUC, AP, Hits@K, MRR)."""
    return name.endswith(("acc", "auc", "ap", "mrr")) or "hits" in name


def print_summary(summary: dict[str, Any], as_json: bool, file: TextIO | None = None) -> None:
    """One JSON object, or a table of every ``*_mean`` metric with its ``± std`` (fixed decimals)."""
    file = file or sys.stdout
    if as_json:
        print(json.dumps(summary, sort_keys=True, default=float), file=file)
        return
    head = {k: v for k, v in summary.items()
            if not k.endswith(("_mean", "_std")) and not isinstance(v, (list, dict))}
    print("  ".join(f"{k}={v}" for k, v in head.items()), file=file)
    names = [k[: -len("_mean")] for k in summary if k.endswith("_mean")]
    width = max([len(n) for n in names] + [6])
    print(f"{'metric':<{width}}  {'mean':>10}  {'± std':>8}", file=file)
    for name in names:
        mean, std = summary[f"{name}_mean"], summary.get(f"{name}_std", math.nan)
        if is_percent(name):
            print(f"{name:<{width}}  {100 * mean:>10.2f}  {100 * std:>8.2f}", file=file)
        else:
            print(f"{name:<{width}}  {mean:>10.4f}  {std:>8.4f}", file=file)
    if any(is_percent(n) for n in names):
        print("(accuracy, ROC-AUC, AUC, AP and Hits@K in %)", file=file)


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


def print_glt_table(
    dataset: str, model: str, preset: str | None, dense: dict, rows: list[dict], metric: str = "acc",
    file: TextIO | None = None,
) -> None:
    """The GLT levels (graph / weight sparsity, test score mean ± std, seconds) and per-method timing."""
    file = file or sys.stdout
    print(f"dataset={dataset}  model={model}  preset={preset}  seeds={len(dense.get('seeds', []))}", file=file)
    print(f"{'method':<8} {'round':>5} {'graph sp %':>10} {'weight sp %':>11} {f'test {metric} %':>16} {'seconds':>8}",
          file=file)
    for r in [dense, *rows]:
        acc = f"{100 * r['test_acc_mean']:.2f} ± {100 * r['test_acc_std']:.2f}"
        cached = "  (cached)" if r.get("cached") else ""
        print(
            f"{r['method']:<8} {r['round']:>5} {100 * r['graph_sparsity']:>10.2f} {100 * r['weight_sparsity']:>11.2f} "
            f"{acc:>16} {r['seconds']:>8.1f}{cached}",
            file=file,
        )
    for method, t in search_timing(rows).items():
        print(f"{method}: whole sweep {t['sweep_seconds']:.1f} s, final ticket {t['final_ticket_seconds']:.1f} s",
              file=file)


def plot_glt(dense: dict, rows: list[dict], path: str | Path, title: str = "", metric: str = "acc") -> Path:
    """Two panels, test score vs graph sparsity and vs weight sparsity; dense baseline as a mean ± std band.

    Uses matplotlib's current backend (set ``MPLBACKEND=Agg`` or ``matplotlib.use('Agg')`` on a headless
    machine; the ``graphsparse`` command does)."""
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


_DATASET_HEADERS = {
    "num_nodes": "nodes",
    "num_edges": "edges",
    "num_features": "features",
    "num_classes": "classes",
    "num_splits": "splits",
    "seconds": "load s",
}


def print_dataset_table(rows: list[dict[str, Any]], file: TextIO | None = None) -> None:
    """The ``graphsparse datasets`` table (rows from :func:`graphsparse.data.dataset_rows`)."""
    file = file or sys.stdout
    columns = ["name", "family", "task", "metric", "num_nodes", "num_edges", "num_features", "num_classes"]
    if rows and "num_splits" in rows[0]:
        columns += ["num_splits", "seconds"]

    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column, "")
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    cells = [[cell(row, c) for c in columns] for row in rows]
    titles = [_DATASET_HEADERS.get(c, c) for c in columns]
    widths = [max([len(t), *(len(r[i]) for r in cells)]) for i, t in enumerate(titles)]
    numeric = {i for i, c in enumerate(columns) if c.startswith("num_") or c == "seconds"}

    def fmt(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))

    print(fmt(titles), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in cells:
        print(fmt(r), file=file)
    print("edges: undirected, self-loops removed (PyG's edge_index holds twice as many)", file=file)
