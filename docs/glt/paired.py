"""Per-level paired comparison of two runs of the same GLT protocol: the code before a change against after it.

``python docs/glt/paired.py OLD.json NEW.json [--bar 0.5]`` reads two ``graphsparse glt --json`` documents of the
same command (same dataset, method, levels and seeds) and prints a markdown table: per level, both means over the
seeds, the difference of the means (new minus old, in points), the mean and spread of the per-seed differences
(each seed trains from the same initial weights in both runs, so its difference isolates the change), and whether
the difference of the means is within the bar.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def paired_rows(old: dict, new: dict) -> list[dict]:
    """One row per level present in both documents (the dense level first), with both runs' per-seed scores.

    Raises:
        SystemExit: the documents ran different seeds.
    """
    if old["seeds"] != new["seeds"]:
        raise SystemExit(f"paired.py: the runs have different seeds ({old['seeds']} and {new['seeds']})")
    dense = {"old": _score(old["dense"], old, "s"), "new": _score(new["dense"], new, "s")}
    rows = [{"method": "dense", "round": 0, **dense}]
    newer = {(lv["method"], lv["round"]): lv for lv in new["levels"]}
    for lv in old["levels"]:
        match = newer.get((lv["method"], lv["round"]))
        if match is not None:
            scores = {"old": _score(lv, old, "s"), "new": _score(match, new, "s")}
            rows.append({"method": lv["method"], "round": lv["round"], **scores})
    return rows


def table(old: dict, new: dict, bar: float) -> str:
    """The markdown table of :func:`paired_rows`, scores in percent."""
    lines = [
        "| method | level | old mean | new mean | Δ mean (points) | per-seed Δ (mean ± std) | seeds equal | within ±"
        f"{bar:g} |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    within = 0
    rows = paired_rows(old, new)
    for row in rows:
        a = [100 * x for x in row["old"]]
        b = [100 * x for x in row["new"]]
        deltas = [y - x for x, y in zip(a, b, strict=True)]
        delta = statistics.fmean(b) - statistics.fmean(a)
        ok = abs(delta) <= bar + 1e-9
        within += ok
        spread = statistics.pstdev(deltas) if len(deltas) > 1 else 0.0
        equal = sum(x == y for x, y in zip(row["old"], row["new"], strict=True))
        lines.append(
            f"| {row['method']} | {row['round']} | {statistics.fmean(a):.2f} | {statistics.fmean(b):.2f} | "
            f"{delta:+.2f} | {statistics.fmean(deltas):+.2f} ± {spread:.2f} | {equal}/{len(deltas)} | "
            f"{'yes' if ok else 'no'} |"
        )
    lines.append("")
    lines.append(f"{within} of {len(rows)} levels within ±{bar:g} points.")
    return "\n".join(lines)


def _score(entry: dict, doc: dict, what: str) -> float | list[float]:
    """A level's ``what`` (``mean``, ``std`` or the per-seed list ``s``) of the document's metric (accuracy, AUC).

    Older documents stored every metric under ``test_acc_*``; newer ones name it (``test_auc_mean``).
    """
    metric = doc.get("metric", "acc")
    key = f"test_{metric}_{what}" if what != "s" else f"test_{metric}s"
    return entry[key] if key in entry else entry[f"test_acc_{what}" if what != "s" else "test_accs"]


def _per_seed(doc: dict) -> bool:
    try:
        for entry in [doc["dense"], *doc["levels"]]:
            _score(entry, doc, "s")
    except KeyError:
        return False
    return True


def summary_table(old: dict, new: dict, bar: float) -> str:
    """Means and spreads side by side, for an old document that kept no per-seed scores (no pairing possible)."""
    count = len(new["seeds"]) if isinstance(new["seeds"], list) else new["seeds"]
    if (len(old["seeds"]) if isinstance(old["seeds"], list) else old["seeds"]) != count:
        raise SystemExit("paired.py: the runs have different numbers of seeds")
    lines = [
        f"| method | level | old mean ± std | new mean ± std | Δ mean (points) | within ±{bar:g} |",
        "|---|---:|---:|---:|---:|---|",
    ]
    newer = {(lv["method"], lv["round"]): lv for lv in new["levels"]}
    pairs = [(old["dense"], new["dense"], "dense", 0)]
    pairs += [(lv, newer[(lv["method"], lv["round"])], lv["method"], lv["round"]) for lv in old["levels"]
              if (lv["method"], lv["round"]) in newer]  # fmt: skip
    within = 0
    for a, b, method, level in pairs:
        (ma, sa), (mb, sb) = ((_score(e, d, "mean"), _score(e, d, "std")) for e, d in ((a, old), (b, new)))
        delta = 100 * (mb - ma)
        ok = abs(delta) <= bar + 1e-9
        within += ok
        lines.append(
            f"| {method} | {level} | {100 * ma:.2f} ± {100 * sa:.2f} | {100 * mb:.2f} ± {100 * sb:.2f} | "
            f"{delta:+.2f} | {'yes' if ok else 'no'} |"
        )
    lines.append("")
    lines.append(f"{within} of {len(pairs)} levels within ±{bar:g} points (means over {count} seeds, not paired).")
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the glt --json document of the code before")
    parser.add_argument("new", type=Path, help="the glt --json document of the code after")
    parser.add_argument("--bar", type=float, default=0.5, help="the bar on the difference of means, in points")
    args = parser.parse_args()
    before, after = json.loads(args.old.read_text()), json.loads(args.new.read_text())
    paired = _per_seed(before) and _per_seed(after)
    print(table(before, after, args.bar) if paired else summary_table(before, after, args.bar))


if __name__ == "__main__":
    main()
