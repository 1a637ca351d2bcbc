"""Markdown tables from ``graphsparse glt --json`` outputs: ``python docs/glt/tables.py docs/glt/cora.json ...``.

One table per file: TEDDY, UGS and random test accuracy (mean ± std over seeds, %) per level, whether TEDDY is at
least UGS at that level, and the per-method timing. When ``<name>_kd.json`` (a ``--method teddy --distill λ`` run
of the same search) sits beside ``<name>.json`` its TEDDY rows are added as the column ``teddy+KD``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(data: dict, rounds: list[int] | None = None, kd: dict | None = None) -> str:
    levels = list(data["levels"])
    if kd is not None:
        levels += [{**r, "method": "teddy+KD"} for r in kd["levels"] if r["method"] == "teddy"]
    by = {(r["method"], r["round"]): r for r in levels}
    methods = list(dict.fromkeys(r["method"] for r in levels))
    ks = sorted({r["round"] for r in levels})
    d = data["dense"]
    lines = [
        f"**{data['dataset']}** / {data['model']} ({data.get('task', 'node')} task, test {data.get('metric', 'acc')}, "
        f"{data['seeds']} seeds, {data['epochs']} epochs); dense "
        f"{100 * d['test_acc_mean']:.2f} ± {100 * d['test_acc_std']:.2f}",
        "",
        "| round | graph / weight sparsity | " + " | ".join(methods) + " | best TEDDY ≥ UGS? |",
        "|---:|---|" + "---:|" * len(methods) + ":---:|",
    ]
    for k in ks if rounds is None else [k for k in ks if k in rounds]:
        first = next(by[(m, k)] for m in methods if (m, k) in by)
        cells = []
        for m in methods:
            r = by.get((m, k))
            cells.append("–" if r is None else f"{100 * r['test_acc_mean']:.2f} ± {100 * r['test_acc_std']:.2f}")
        teddies = [by[(m, k)]["test_acc_mean"] for m in ("teddy", "teddy+KD") if (m, k) in by]
        u = by.get(("ugs", k))
        verdict = "–" if not teddies or u is None else ("yes" if max(teddies) >= u["test_acc_mean"] else "no")
        lines.append(
            f"| {k} | {100 * first['graph_sparsity']:.1f}% / {100 * first['weight_sparsity']:.1f}% | "
            + " | ".join(cells)
            + f" | {verdict} |"
        )
    timing = dict(data.get("timing", {}))
    if kd is not None and "teddy" in kd.get("timing", {}):
        timing["teddy+KD"] = kd["timing"]["teddy"]
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


def plot(data: dict, path: Path, kd: dict | None = None) -> None:
    """The ``graphsparse glt`` plot of one search, with the ``teddy+KD`` line when a KD run is given."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from graphsparse.sparsify.command import plot_glt

    rows = list(data["levels"])
    if kd is not None:
        rows += [{**r, "method": "teddy+KD"} for r in kd["levels"] if r["method"] == "teddy"]
    plot_glt(data["dense"], rows, path, title=f"{data['dataset']} / {data['model']} ({data['seeds']} seeds)",
             metric=data.get("metric", "acc"))


if __name__ == "__main__":
    for path in sys.argv[1:]:
        kd_path = Path(path).with_name(Path(path).stem + "_kd.json")
        kd = json.loads(kd_path.read_text()) if kd_path.is_file() else None
        data = json.loads(Path(path).read_text())
        print(table(data, kd=kd))
        print()
        plot(data, Path(path).with_name(f"glt_{Path(path).stem}_{data['model']}.png"), kd)
