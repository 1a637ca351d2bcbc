"""Merge ``graphsparse train --augment ... --json`` outputs of disjoint seed ranges into one summary.

A long run can be split over processes with ``--seeds N --seed-offset K``; this pools them as one run over all
the seeds would report: per-seed lists are concatenated, test/val means and (population) stds are recomputed from
them, and the metrics only stored as summaries (train accuracy, epoch time, peak RSS) are pooled exactly from the
parts' means and stds.

    python docs/gaug/merge.py part0.json part5.json > docs/gaug/gaugo_citeseer_gcn.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

_PER_SEED = {"runs": ("test_acc", "val_acc"), "baseline_runs": ("test_acc", "val_acc")}
_SAME = ("augment", "dataset", "model", "preset", "mode", "task", "gaug", "dense_memory_mb")


def _pool(parts: list[dict], key: str) -> tuple[float, float]:
    """Mean and population std of the union, from each part's size, mean and std."""
    sizes = [len(p["runs"]) for p in parts]
    total = sum(sizes)
    mean = sum(n * p[f"{key}_mean"] for n, p in zip(sizes, parts)) / total
    second = sum(n * (p[f"{key}_std"] ** 2 + p[f"{key}_mean"] ** 2) for n, p in zip(sizes, parts)) / total
    return mean, math.sqrt(max(second - mean**2, 0.0))


def merge(parts: list[dict]) -> dict:
    for key in _SAME:
        values = {json.dumps(p.get(key), sort_keys=True) for p in parts}
        if len(values) > 1:
            raise ValueError(f"the parts differ in {key!r}: {sorted(values)}")
    seeds = [r["seed"] for p in parts for r in p["runs"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the parts share seeds: {sorted(seeds)}")
    out = {key: parts[0][key] for key in _SAME if key in parts[0]}
    for list_key, metrics in _PER_SEED.items():
        rows = sorted((r for p in parts for r in p.get(list_key, [])), key=lambda r: r["seed"])
        out[list_key] = rows
        prefix = "baseline_" if list_key.startswith("baseline") else ""
        for metric in metrics:
            values = [float(r[metric]) for r in rows]
            mean = sum(values) / len(values)
            out[f"{prefix}{metric}_mean"] = mean
            out[f"{prefix}{metric}_std"] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    pooled = {k[: -len("_mean")] for k in parts[0] if k.endswith("_mean")} - {
        f"{pre}{m}" for pre in ("", "baseline_") for m in ("test_acc", "val_acc")
    }
    for key in sorted(pooled):
        out[f"{key}_mean"], out[f"{key}_std"] = _pool(parts, key)
    out["seeds"] = len(seeds)
    out["merged_from"] = [sorted(r["seed"] for r in p["runs"]) for p in parts]
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python docs/gaug/merge.py PART.json PART.json [...]")
    print(json.dumps(merge([json.loads(Path(a).read_text()) for a in sys.argv[1:]]), sort_keys=True))
