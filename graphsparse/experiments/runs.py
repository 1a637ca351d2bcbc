"""Stored runs and GLT levels as records: the queries and tables of ``graphsparse runs`` (list, compare, CSV)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    pass

from .tables import is_percent

__all__ = [
    "unit_id",
    "unit_record",
    "run_test_score",
    "RUNS_UNITS",
    "in_percent",
    "terminal_width",
    "fit_columns",
    "print_runs_table",
    "compare_records",
    "print_comparison",
    "write_runs_csv",
]


def unit_id(key: str) -> str:
    """The id ``graphsparse runs`` gives a key/value unit (a GLT level).

    It is ``g`` + 10 hex digits of its key's sha256 (stable when the unit is recomputed and replaced).
    """
    import hashlib

    return "g" + hashlib.sha256(key.encode()).hexdigest()[:10]


def unit_record(unit: dict[str, Any]) -> dict[str, Any] | None:
    """A stored GLT level as a run-like record; None for a key that is not a GLT level.

    The level is ``{'key', 'created', 'payload', 'invocation'}`` from ``ResultsStore.units('glt|')``; the record
    has id, created, kind ``'glt'``, dataset, model, seed, config, metrics, timings and invocation.
    """
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
    """Whether a stored number called ``name`` is shown in % by ``graphsparse runs``.

    It is: a score (:func:`is_percent`, also as a GLT level's ``test_acc_mean`` / ``test_acc_std``) or a sparsity
    (``graph_sparsity``).
    """
    base = name.removesuffix("_mean").removesuffix("_std")
    return is_percent(base) or base.endswith("sparsity")


def _score(name: str, value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "" if value is None else str(value)
    return f"{100 * value:.2f}" if in_percent(name) else f"{value:.4f}"


def terminal_width(wide: bool = False) -> int | None:
    """The width tables are fitted to; None (no limit) when ``wide``.

    The width is the terminal's (``shutil.get_terminal_size``: ``$COLUMNS``, else the terminal on standard output,
    else 120 columns).
    """
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
    """``graphsparse runs list``: one line per run or GLT level, fitted to ``width`` characters.

    A line holds id, date UTC, kind, dataset, model, seed, test metric in fixed decimals and detail; long cells are
    cut with an ellipsis, the detail first (``width`` None: every cell whole).
    """
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
    """Side by side: every metric of the records and every configuration field whose value differs between them.

    A metric a record lacks is None; the configuration fields are dataset, model, seed, config, data fingerprint,
    git commit...
    """
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
    """The table of :func:`compare_records`, fitted to ``width`` characters.

    Metrics first (fixed decimals; scores and sparsities in %, runs and GLT levels alike), then the configuration
    differences; long cells are cut with an ellipsis (``width`` None: every cell whole).
    """
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
    """One CSV row per record.

    Its identity columns, ``metric.<name>`` and ``timing.<name>`` columns (numbers as stored, full precision),
    ``config`` and ``versions`` as JSON.
    """
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
