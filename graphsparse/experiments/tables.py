"""Terminal tables: a command's summary, the GLT levels, the datasets (fixed decimals, scores in %)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..sparsify.records import LevelResult

from .document import STD_POPULATION

__all__ = ["is_percent", "print_summary", "search_timing", "print_glt_table", "print_dataset_table"]


_TEXT_HIDDEN = ("schema", "version", "command", "std", "std_ddof")


def is_percent(name: str) -> bool:
    """Whether metric ``name`` is a fraction shown in % (accuracy, ROC-AUC, AUC, AP, Hits@K, MRR)."""
    return name.endswith(("acc", "auc", "ap", "mrr")) or "hits" in name


def print_summary(summary: dict[str, Any], as_json: bool, file: TextIO | None = None) -> None:
    """One JSON object, or a table of every ``*_mean`` metric with its ``± std`` (fixed decimals)."""
    file = file or sys.stdout
    if as_json:
        print(json.dumps(summary, sort_keys=True, default=float), file=file)
        return
    shown = {k: len(v) if k == "seeds" and isinstance(v, list) else v for k, v in summary.items()}  # seeds: count
    head = {
        k: v
        for k, v in shown.items()
        if not k.endswith(("_mean", "_std")) and not isinstance(v, (list, dict)) and k not in _TEXT_HIDDEN
    }
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
    notes = []
    if any(is_percent(n) for n in names):
        notes.append("accuracy, ROC-AUC, AUC, AP and Hits@K in %")
    if summary.get("std") is not None:
        notes.append(f"± std: the {summary['std']} std over seeds")
    if notes:
        print(f"({'; '.join(notes)})", file=file)


def search_timing(rows: Sequence[LevelResult]) -> dict[str, dict[str, float]]:
    """Per method: ``sweep_seconds`` (all its levels) and ``final_ticket_seconds``.

    ``final_ticket_seconds`` is what its last, sparsest ticket cost on its own: one level for one-shot methods,
    every round up to it for an iterative method, whose round k needs rounds 1..k-1. Seconds are as measured when
    each level was computed (cached levels keep theirs).
    """
    from ..sparsify.methods import method_class

    out = {}
    for method in dict.fromkeys(r.method for r in rows):
        mine = sorted((r for r in rows if r.method == method), key=lambda r: r.round)
        sweep = float(sum(r.seconds for r in mine))
        final = sweep if method_class(method).iterative else float(mine[-1].seconds)
        out[method] = {"sweep_seconds": sweep, "final_ticket_seconds": final}
    return out


def print_glt_table(
    dataset: str,
    model: str,
    preset: str | None,
    dense: LevelResult,
    rows: Sequence[LevelResult],
    metric: str = "acc",
    file: TextIO | None = None,
) -> None:
    """The GLT levels (graph / weight sparsity, test score mean ± std, seconds) and per-method timing."""
    file = file or sys.stdout
    print(f"dataset={dataset}  model={model}  preset={preset}  seeds={len(dense.seeds)}", file=file)
    width = max([8, *(len(r.method) for r in rows)])
    print(
        f"{'method':<{width}} {'round':>5} {'graph sp %':>10} {'weight sp %':>11} {f'test {metric} %':>16} "
        f"{'seconds':>8}",
        file=file,
    )
    for r in [dense, *rows]:
        score = f"{100 * r.test_mean:.2f} ± {100 * r.test_std:.2f}"
        cached = "  (cached)" if r.cached else ""
        print(
            f"{r.method:<{width}} {r.round:>5} {100 * r.graph_sparsity:>10.2f} {100 * r.weight_sparsity:>11.2f} "
            f"{score:>16} {r.seconds:>8.1f}{cached}",
            file=file,
        )
    for method, t in search_timing(rows).items():
        print(
            f"{method}: whole sweep {t['sweep_seconds']:.1f} s, final ticket {t['final_ticket_seconds']:.1f} s",
            file=file,
        )
    print(f"(test {metric}: mean ± the {STD_POPULATION} std over seeds)", file=file)


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
