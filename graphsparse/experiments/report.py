"""Reports: mean ± std over seeds (the sample std for ``train``, the population std for GLT levels; each table
and document names its own), tables (fixed decimals), the GLT plot and the commands' JSON document.

Nothing here changes global state at import: matplotlib is imported inside :func:`plot_glt` only, and its
backend is left to the caller (the ``graphsparse`` command selects a non-interactive one at start-up).

**The JSON document of ``train --json`` and ``glt --json``** (schema :data:`SCHEMA`, built by
:func:`command_document`) is one object whose shared top-level keys are:

``schema``
    int, this layout's version (1); bumped when a shared key changes meaning.
``version``
    the graphsparse version that wrote it.
``command``
    ``"train"`` or ``"glt"``.
``dataset``, ``model``, ``task``, ``metric``
    the dataset's canonical name, the model name, ``"node"`` / ``"link"`` and the selection/report metric
    (``"acc"``, ``"roc_auc"``, ``"auc"``).
``seeds``
    the list of seeds run.
``config``
    the *resolved* configuration, everything needed to rerun: ``preset``, ``model_options`` (the model's
    defaults filled in), ``train`` (epochs, lr, weight decay, ...), ``split``, the path's own options
    (``batching``/``cluster``, ``augment``/``gaug``, ``eval_negatives``, the GLT ``methods``, ``rounds``, ``pg``,
    ``pw``, ``levels``, ``distill``, ``ugs_l1``, ...), ``device`` and ``threads``.
``summary``
    ``{name: {"mean": float, "std": float}}`` over seeds: for ``train`` every reported metric
    (``test_acc``, ``val_acc``, ``epoch_seconds``, ...); for ``glt`` the dense (unpruned) model's
    ``test_<metric>``.
``std``, ``std_ddof``
    which std the document's ``*_std`` values are: ``"sample (ddof=1)"`` / 1 for ``train`` (as the papers'
    tables and pandas; NaN with one seed), ``"population (ddof=0)"`` / 0 for ``glt`` (its levels, and the
    published GLT tables) and ``tune``.
``runs`` (``train``)
    one entry per seed (``seed``, ``split``, val/test scores, ``best_epoch``).
``levels`` (``glt``)
    one entry per (method, round): ``method``, ``round``, ``graph_sparsity``, ``weight_sparsity``,
    ``test_acc_mean``/``test_acc_std`` (the task's metric, whatever its name), ``seconds``, ``tickets``.

Older flat keys stay beside them for existing readers: ``train`` keeps ``test_<metric>_mean``/``_std`` and
the path's extras (``preset``, ``batching``, ``parts``, ``gaug``, ``baseline_*``, ...); ``glt`` keeps
``preset``, ``epochs``, ``model_options``, ``distill``, ``ugs_l1``, ``dense`` and ``timing``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..sparsify.records import LevelResult

__all__ = [
    "SCHEMA",
    "command_document",
    "metric_summary",
    "summarize",
    "STD_SAMPLE",
    "STD_POPULATION",
    "print_summary",
    "is_percent",
    "search_timing",
    "print_glt_table",
    "plot_glt",
    "print_dataset_table",
    "unit_id",
    "unit_record",
    "run_test_score",
    "print_runs_table",
    "RUNS_UNITS",
    "in_percent",
    "terminal_width",
    "fit_columns",
    "compare_records",
    "print_comparison",
    "write_runs_csv",
]


STD_SAMPLE = "sample (ddof=1)"
"""How ``train`` (and its grids) report the spread over seeds: the sample std, as the papers' tables and pandas."""
STD_POPULATION = "population (ddof=0)"
"""How a GLT search's levels report it (:mod:`graphsparse.sparsify.records`; its published tables use it)."""
_STD_DDOF = {STD_SAMPLE: 1, STD_POPULATION: 0}


def summarize(rows: list[dict[str, Any]], keys: Sequence[str], ddof: int = 1) -> dict[str, float]:
    """``<key>_mean`` and ``<key>_std`` over seeds for each metric key.

    Args:
        rows: one dict per seed.
        keys: the metrics to summarise.
        ddof: delta degrees of freedom of the std: 1 (default) is the sample std (as pandas and the papers'
            tables), 0 the population std. With fewer than ``ddof + 1`` values the std is NaN (undefined).

    Returns:
        ``{"<key>_mean": ..., "<key>_std": ...}`` for each key.
    """
    import numpy as np

    out: dict[str, float] = {}
    for key in keys:
        values = np.array([float(r[key]) for r in rows], dtype=float)
        out[f"{key}_mean"] = float(values.mean()) if values.size else math.nan
        out[f"{key}_std"] = float(values.std(ddof=ddof)) if values.size > ddof else math.nan
    return out


SCHEMA = 1
"""Version of the ``train``/``glt`` JSON document's layout (see the module docstring)."""


def metric_summary(flat: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"test_acc_mean": m, "test_acc_std": s, ...}`` -> ``{"test_acc": {"mean": m, "std": s}, ...}``
    (only the top level's ``*_mean`` keys; a missing std is NaN)."""
    out: dict[str, dict[str, float]] = {}
    for key, value in flat.items():
        if key.endswith("_mean") and isinstance(value, (int, float)):
            name = key[: -len("_mean")]
            out[name] = {"mean": float(value), "std": float(flat.get(f"{name}_std", math.nan))}
    return out


def command_document(
    command: str,
    *,
    dataset: str,
    model: str,
    task: str,
    metric: str,
    seeds: Sequence[int],
    config: dict[str, Any],
    summary: dict[str, dict[str, float]],
    extra: dict[str, Any] | None = None,
    std: str | None = None,
) -> dict[str, Any]:
    """The shared JSON document of ``train``/``glt`` (the module docstring lists its keys): ``extra`` holds the
    command's own keys (``runs`` or ``levels``, and the older flat keys); the shared keys win over it. ``std``
    (:data:`STD_SAMPLE` or :data:`STD_POPULATION`) names the std the document holds: keys ``std`` and
    ``std_ddof``."""
    from .. import __version__

    document = dict(extra or {})
    if std is not None:
        if std not in _STD_DDOF:
            raise ValueError(f"std must be {STD_SAMPLE!r} or {STD_POPULATION!r}, got {std!r}")
        document.update(std=std, std_ddof=_STD_DDOF[std])
    document.update(
        schema=SCHEMA,
        version=__version__,
        command=command,
        dataset=dataset,
        model=model,
        task=task,
        metric=metric,
        seeds=[int(s) for s in seeds],
        config=config,
        summary=summary,
    )
    return document


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
    """Per method: ``sweep_seconds`` (all its levels) and ``final_ticket_seconds`` (what its last, sparsest
    ticket cost on its own: one level for one-shot methods, every round up to it for an iterative method, whose
    round k needs rounds 1..k-1). Seconds are as measured when each level was computed (cached levels keep
    theirs)."""
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


def plot_glt(
    dense: LevelResult,
    rows: Sequence[LevelResult],
    path: str | Path,
    title: str = "",
    metric: str = "acc",
    labels: dict[str, str] | None = None,
) -> Path:
    """Two panels, test score vs graph sparsity and vs weight sparsity; dense baseline as a mean ± std band.

    Uses matplotlib's current backend (set ``MPLBACKEND=Agg`` or ``matplotlib.use('Agg')`` on a headless
    machine; the ``graphsparse`` command does).

    Args:
        dense: the dense baseline.
        rows: the levels of every method.
        path: the image to write (folders are created).
        title: the figure's title.
        metric: the score's name (``acc``, ``auc``).
        labels: legend names by method (default: each level's ``label``, else its method).

    Returns:
        ``path``.
    """
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    methods = list(dict.fromkeys(r.method for r in rows))
    names = {r.method: r.label or r.method for r in rows}
    names.update(labels or {})
    mean, std = 100 * dense.test_mean, 100 * dense.test_std
    for ax, key, label in ((axes[0], "graph_sparsity", "graph"), (axes[1], "weight_sparsity", "weight")):
        ax.axhspan(mean - std, mean + std, color="grey", alpha=0.25, label=f"dense {mean:.1f} ± {std:.1f}")
        ax.axhline(mean, color="grey", lw=1)
        for method in methods:
            mine = sorted((r for r in rows if r.method == method), key=lambda r: getattr(r, key))
            xs = [100 * getattr(r, key) for r in mine]
            ys = [100 * r.test_mean for r in mine]
            es = [100 * r.test_std for r in mine]
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, label=names[method])
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


# ----------------------------------------------------------------- stored runs (``graphsparse runs``)
def unit_id(key: str) -> str:
    """The id ``graphsparse runs`` gives a key/value unit (a GLT level): ``g`` + 10 hex digits of its key's
    sha256 (stable when the unit is recomputed and replaced)."""
    import hashlib

    return "g" + hashlib.sha256(key.encode()).hexdigest()[:10]


def unit_record(unit: dict[str, Any]) -> dict[str, Any] | None:
    """A stored GLT level (``{'key', 'created', 'payload', 'invocation'}`` from ``ResultsStore.units('glt|')``) as
    a run-like record (id, created, kind ``'glt'``, dataset, model, seed, config, metrics, timings, invocation);
    None for a key that is not a GLT level."""
    key, payload = unit["key"], unit["payload"]
    parts = key.split("|")
    if len(parts) < 5 or parts[0] != "glt" or not isinstance(payload, dict):
        return None
    fields = dict(part.split("=", 1) for part in parts if "=" in part)
    plain = [part for part in parts[4:] if "=" not in part]
    metric = str(payload.get("metric", "acc"))
    scores = tuple(f"{part}_{metric}_{stat}" for part in ("test", "val") for stat in ("mean", "std"))
    numbers = (*scores, "graph_sparsity", "weight_sparsity")
    seeds = payload.get("seeds")
    config = {
        "preset": parts[2],
        "task": payload.get("task", "node"),
        "metric": metric,
        "method": payload.get("method", plain[0] if plain else None),
        "round": payload.get("round"),
        "target_graph_sparsity": payload.get("target_graph_sparsity"),
        "target_weight_sparsity": payload.get("target_weight_sparsity"),
        "seeds": seeds,
        "config_hash": fields.get("cfg"),
        "key": key,
    }
    return {
        "id": unit_id(key),
        "created": unit["created"],
        "kind": "glt",
        "dataset": parts[3],
        "model": parts[1],
        "seed": None if not seeds else ",".join(str(s) for s in seeds),
        "config": config,
        "metrics": {k: payload[k] for k in numbers if k in payload},
        "timings": {"seconds": payload["seconds"]} if "seconds" in payload else {},
        "graph_fingerprint": fields.get("data"),
        "schema_version": int(fields["schema"]) if fields.get("schema", "").isdigit() else None,
        "invocation": unit.get("invocation"),
        # the versions of the invocation that computed the level (levels stored before they were recorded: {})
        "versions": dict((unit.get("invocation") or {}).get("versions") or {}),
        "payload": {k: v for k, v in payload.items() if k != "method_state"},
    }


def run_test_score(record: dict[str, Any]) -> tuple[str, float | None]:
    """(metric name, test value) of a stored run or GLT level record."""
    metrics = record.get("metrics") or {}
    if record.get("kind") == "glt":
        name = str((record.get("config") or {}).get("metric", "acc"))
        return name, metrics.get(f"test_{name}_mean")
    name = (record.get("config") or {}).get("metric")
    if name and f"test_{name}" in metrics:
        return str(name), metrics[f"test_{name}"]
    for key, value in metrics.items():
        if key.startswith("test_") and isinstance(value, (int, float)):
            return key[len("test_") :], value
    return "", None


def _stamp(created: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(float(created), timezone.utc).strftime("%Y-%m-%d %H:%M")


RUNS_UNITS = "(accuracy, ROC-AUC, AUC, AP, Hits@K, MRR and sparsities in %)"
"""The footer of ``graphsparse runs`` tables: every score and sparsity, runs and GLT levels alike, is in %."""


def in_percent(name: str) -> bool:
    """Whether a stored number called ``name`` is shown in % by ``graphsparse runs``: a score (:func:`is_percent`,
    also as a GLT level's ``test_acc_mean`` / ``test_acc_std``) or a sparsity (``graph_sparsity``)."""
    base = name.removesuffix("_mean").removesuffix("_std")
    return is_percent(base) or base.endswith("sparsity")


def _score(name: str, value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "" if value is None else str(value)
    return f"{100 * value:.2f}" if in_percent(name) else f"{value:.4f}"


def terminal_width(wide: bool = False) -> int | None:
    """The width tables are fitted to: the terminal's (``shutil.get_terminal_size``: ``$COLUMNS``, else the
    terminal on standard output, else 120 columns); None (no limit) when ``wide``."""
    import shutil

    return None if wide else max(40, shutil.get_terminal_size((120, 24)).columns)


def _clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def fit_columns(
    titles: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    fixed: Sequence[int] = (),
    gap: int = 2,
    minimum: int = 6,
) -> tuple[list[int], list[list[str]]]:
    """Column widths whose line fits ``width`` characters, and the cells cut to them.

    The widest column that may shrink (not in ``fixed``) loses a character at a time until the line fits or every
    shrinkable column is at ``minimum`` (or its title's width, if larger); cut cells end in an ellipsis. With
    ``width`` None every cell is kept whole (``--wide``).

    Args:
        titles: the column titles (never cut).
        rows: the cells, one list per row.
        width: the line's maximum width, or None.
        fixed: indices of columns never shrunk (ids, numbers).
        gap: spaces between columns.
        minimum: the narrowest a shrunk column gets.

    Returns:
        (widths, cells).
    """
    widths = [max([len(t), *(len(r[i]) for r in rows)]) for i, t in enumerate(titles)]
    if width is not None:
        floor = [max(len(t), minimum) for t in titles]
        while sum(widths) + gap * (len(widths) - 1) > width:
            shrinkable = [i for i in range(len(widths)) if i not in fixed and widths[i] > floor[i]]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: widths[i])
            widths[widest] -= 1
    cells = [[_clip(v, w) for v, w in zip(row, widths)] for row in rows]
    return widths, cells


def _detail(record: dict[str, Any]) -> str:
    if record.get("kind") == "glt":
        config, metrics = record["config"], record["metrics"]
        graph, weight = metrics.get("graph_sparsity"), metrics.get("weight_sparsity")
        text = f"{config.get('task', 'node')} {config.get('method')} round {config.get('round')}"
        if isinstance(graph, (int, float)) and isinstance(weight, (int, float)):
            text += f", graph {100 * graph:.2f}% weight {100 * weight:.2f}% sparse"
        return text
    invocation = record.get("invocation") or {}
    return f"invocation {str(invocation['id'])[:8]}" if invocation.get("id") else ""


def print_runs_table(records: Sequence[dict[str, Any]], file: TextIO | None = None, width: int | None = None) -> None:
    """``graphsparse runs list``: one line per run or GLT level (id, date UTC, kind, dataset, model, seed, test
    metric in fixed decimals, detail), fitted to ``width`` characters (long cells cut with an ellipsis, the
    detail first; None: every cell whole)."""
    file = file or sys.stdout
    titles = ["id", "date (UTC)", "kind", "dataset", "model", "seed", "metric", "test", "detail"]
    rows = []
    for r in records:
        name, value = run_test_score(r)
        seed = "" if r.get("seed") is None else str(r["seed"])
        rows.append(
            [
                str(r["id"]),
                _stamp(r["created"]),
                str(r["kind"]),
                str(r["dataset"]),
                str(r["model"]),
                seed,
                name,
                _score(name, value),
                _detail(r),
            ]
        )
    widths, rows = fit_columns(titles, rows, width, fixed=(0, 1, 2, 6, 7))
    right = {0, 5, 7}

    def fmt(values: list[str]) -> str:
        cells = (v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths)))
        return "  ".join(cells).rstrip()

    print(fmt(titles), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in rows:
        print(fmt(row), file=file)
    print(f"{len(rows)} stored result{'s' if len(rows) != 1 else ''} {RUNS_UNITS}", file=file)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def compare_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Side by side: every metric of the records (None where one lacks it) and every configuration field whose
    value differs between them (dataset, model, seed, config, data fingerprint, git commit...)."""
    metric_names = list(dict.fromkeys(k for r in records for k in (r.get("metrics") or {})))
    metrics = {k: [(r.get("metrics") or {}).get(k) for r in records] for k in metric_names}
    flat = []
    for r in records:
        invocation = r.get("invocation") or {}
        described = {
            "kind": r.get("kind"),
            "dataset": r.get("dataset"),
            "model": r.get("model"),
            "seed": r.get("seed"),
            "graph_fingerprint": r.get("graph_fingerprint"),
            "git_commit": invocation.get("git_commit"),
            "package_version": invocation.get("package_version"),
            "device": invocation.get("device"),
            "config": r.get("config") or {},
            "versions": r.get("versions") or {},
        }
        flat.append(_flatten(described))
    keys = list(dict.fromkeys(k for f in flat for k in f))
    differences = {}
    for key in keys:
        values = [f.get(key) for f in flat]
        if any(
            json.dumps(v, sort_keys=True, default=str) != json.dumps(values[0], sort_keys=True, default=str)
            for v in values[1:]
        ):
            differences[key] = values
    return {"ids": [r["id"] for r in records], "metrics": metrics, "config_differences": differences}


def print_comparison(comparison: dict[str, Any], file: TextIO | None = None, width: int | None = None) -> None:
    """The table of :func:`compare_records`: metrics (fixed decimals; scores and sparsities in %, runs and GLT
    levels alike), then the configuration differences, fitted to ``width`` characters (long cells cut with an
    ellipsis; None: every cell whole)."""
    file = file or sys.stdout
    ids = [str(i) for i in comparison["ids"]]

    def cell(name: str, value: Any) -> str:
        if isinstance(value, float):
            return _score(name.split(".")[-1], value)
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True, default=str)
        return "-" if value is None else str(value)

    def block(title: str, entries: dict[str, list[Any]], scores: bool) -> None:
        rows = [[k, *(cell(k if scores else "", v) for v in values)] for k, values in entries.items()]
        widths, rows = fit_columns([title, *ids], rows, width)
        print(
            "  ".join(t.ljust(w) if i == 0 else t.rjust(w) for i, (t, w) in enumerate(zip([title, *ids], widths))),
            file=file,
        )
        for row in rows:
            print(
                "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))), file=file
            )

    block("metric", comparison["metrics"], scores=True)
    print(file=file)
    if comparison["config_differences"]:
        block("differs", comparison["config_differences"], scores=False)
    else:
        print("no configuration differences", file=file)
    print(RUNS_UNITS, file=file)


_CSV_FIRST = (
    "id",
    "created",
    "kind",
    "dataset",
    "model",
    "seed",
    "graph_fingerprint",
    "schema_version",
    "invocation_id",
    "git_commit",
    "package_version",
    "device",
)


def write_runs_csv(records: Sequence[dict[str, Any]], file: TextIO) -> None:
    """One CSV row per record: its identity columns, ``metric.<name>`` and ``timing.<name>`` columns (numbers as
    stored, full precision), ``config`` and ``versions`` as JSON."""
    import csv
    from datetime import datetime, timezone

    metric_keys = list(dict.fromkeys(k for r in records for k in (r.get("metrics") or {})))
    timing_keys = list(dict.fromkeys(k for r in records for k in (r.get("timings") or {})))
    columns = [
        *_CSV_FIRST,
        *(f"metric.{k}" for k in metric_keys),
        *(f"timing.{k}" for k in timing_keys),
        "config",
        "versions",
        "argv",
    ]
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        invocation = r.get("invocation") or {}
        created = datetime.fromtimestamp(float(r["created"]), timezone.utc).isoformat(timespec="seconds")
        row = [
            r["id"],
            created,
            r["kind"],
            r["dataset"],
            r["model"],
            r.get("seed"),
            r.get("graph_fingerprint"),
            r.get("schema_version"),
            invocation.get("id"),
            invocation.get("git_commit"),
            invocation.get("package_version"),
            invocation.get("device"),
        ]
        row += [(r.get("metrics") or {}).get(k) for k in metric_keys]
        row += [(r.get("timings") or {}).get(k) for k in timing_keys]
        row += [
            json.dumps(r.get("config") or {}, sort_keys=True, default=str),
            json.dumps(r.get("versions") or {}, sort_keys=True),
            " ".join(invocation.get("argv") or []),
        ]
        writer.writerow(["" if v is None else v for v in row])
