"""Markdown tables from ``graphsparse glt --json`` outputs: ``python docs/glt/tables.py docs/glt/cora.json ...``.

One table per file: TEDDY, UGS and random test accuracy (mean ± std over seeds, %) per level, whether TEDDY is at
least UGS at that level, and the per-method timing. Every ``<name>_kd*.json`` (a ``--method teddy --distill λ``
run of the same search) beside ``<name>.json`` adds its TEDDY rows as a column: ``teddy+KD`` for ``<name>_kd.json``
(λ = 1 in these docs), ``teddy+KD λ=<λ>`` when the JSON records its ``distill``. Every ``<name>_extra*.json``
(e.g. a ``--method random --levels 10-20`` run of the same search) adds its levels under their own method names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace


def _seed_count(data: dict) -> int:
    """``seeds`` is the list of seeds (JSON schema 1) or, in older files, their count."""
    seeds = data["seeds"]
    return len(seeds) if isinstance(seeds, list) else seeds


def _backbone(data: dict) -> str:
    """`` (preset teddy, 512 hidden)`` for searches that record a non-default preset or width."""
    parts = [f"preset {data['preset']}"] if data.get("preset") not in (None, "paper") else []
    hidden = (data.get("model_options") or {}).get("hidden_channels")
    if parts and hidden:
        parts.append(f"{hidden} hidden")
    return f" ({', '.join(parts)})" if parts else ""


def _score(row: dict, metric: str, what: str) -> float:
    """A level's ``mean`` or ``std`` of the search's metric (older documents stored every metric as ``test_acc_*``)."""
    key = f"test_{metric}_{what}"
    return row[key] if key in row else row[f"test_acc_{what}"]


def kd_label(kd: dict) -> str:
    return "teddy+KD" if kd.get("distill") in (None, 1.0) else f"teddy+KD λ={kd['distill']:g}"


def merged(data: dict, extras: list[dict]) -> dict:
    """``data`` with the levels and timings of ``extras`` (same search, other methods or levels) added."""
    out = {**data, "levels": list(data["levels"]), "timing": dict(data.get("timing", {}))}
    for extra in extras:
        out["levels"] += extra["levels"]
        out["timing"].update(extra.get("timing", {}))
    return out


def table(data: dict, rounds: list[int] | None = None, kd: dict | list[dict] | None = None) -> str:
    kds = [] if kd is None else [kd] if isinstance(kd, dict) else list(kd)
    levels = list(data["levels"])
    for run in kds:
        levels += [{**r, "method": kd_label(run)} for r in run["levels"] if r["method"] == "teddy"]
    by = {(r["method"], r["round"]): r for r in levels}
    methods = list(dict.fromkeys(r["method"] for r in levels))
    ks = sorted({r["round"] for r in levels})
    d, metric = data["dense"], data.get("metric", "acc")
    lines = [
        f"**{data['dataset']}** / {data['model']}{_backbone(data)} ({data.get('task', 'node')} task, "
        f"test {data.get('metric', 'acc')}, "
        f"{_seed_count(data)} seeds, {data['epochs']} epochs); dense "
        f"{100 * _score(d, metric, 'mean'):.2f} ± {100 * _score(d, metric, 'std'):.2f}",
        "",
        "| round | graph / weight sparsity | " + " | ".join(methods) + " | best TEDDY ≥ UGS? |",
        "|---:|---|" + "---:|" * len(methods) + ":---:|",
    ]
    for k in ks if rounds is None else [k for k in ks if k in rounds]:
        first = next(by[(m, k)] for m in methods if (m, k) in by)
        cells = []
        for m in methods:
            r = by.get((m, k))
            cells.append(
                "–" if r is None else f"{100 * _score(r, metric, 'mean'):.2f} ± {100 * _score(r, metric, 'std'):.2f}"
            )
        teddies = [_score(by[(m, k)], metric, "mean") for m in methods if m.startswith("teddy") and (m, k) in by]
        u = by.get(("ugs", k))
        verdict = "–" if not teddies or u is None else ("yes" if max(teddies) >= _score(u, metric, "mean") else "no")
        lines.append(
            f"| {k} | {100 * first['graph_sparsity']:.1f}% / {100 * first['weight_sparsity']:.1f}% | "
            + " | ".join(cells)
            + f" | {verdict} |"
        )
    timing = dict(data.get("timing", {}))
    for run in kds:
        if "teddy" in run.get("timing", {}):
            timing[kd_label(run)] = run["timing"]["teddy"]
    if timing:
        lines.append("")
        lines.append(
            "Wall time: "
            + "; ".join(
                f"{m} sweep {t['sweep_seconds']:.0f} s, final ticket {t['final_ticket_seconds']:.0f} s"
                for m, t in timing.items()
            )
        )
    return "\n".join(lines)


def plot(data: dict, path: Path, kd: list[dict] | None = None) -> None:
    """The ``graphsparse glt`` plot of one search, with a ``teddy+KD`` line per KD run given."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import matplotlib

    matplotlib.use("Agg")
    from graphsparse.experiments.plots import plot_glt

    rows = list(data["levels"])
    for run in kd or []:
        rows += [{**r, "method": kd_label(run)} for r in run["levels"] if r["method"] == "teddy"]
    title = f"{data['dataset']} / {data['model']}{_backbone(data)} ({_seed_count(data)} seeds)"
    metric = data.get("metric", "acc")
    plot_glt(_level(data["dense"], metric), [_level(r, metric) for r in rows], path, title=title, metric=metric)


def _level(row: dict, metric: str) -> SimpleNamespace:
    """A level of a JSON document as :func:`plot_glt` reads it (method, label, sparsities, mean ± std)."""
    return SimpleNamespace(
        method=row["method"],
        label=row["method"],
        round=row["round"],
        graph_sparsity=row["graph_sparsity"],
        weight_sparsity=row["weight_sparsity"],
        test_mean=_score(row, metric, "mean"),
        test_std=_score(row, metric, "std"),
    )


if __name__ == "__main__":
    for path in sys.argv[1:]:
        beside = Path(path).parent
        kd = [json.loads(f.read_text()) for f in sorted(beside.glob(Path(path).stem + "_kd*.json"))]
        extras = [json.loads(f.read_text()) for f in sorted(beside.glob(Path(path).stem + "_extra*.json"))]
        data = merged(json.loads(Path(path).read_text()), extras)
        print(table(data, kd=kd))
        print()
        plot(data, Path(path).with_name(f"glt_{Path(path).stem}_{data['model']}.png"), kd)
