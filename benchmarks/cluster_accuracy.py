"""Cluster-GCN vs full-batch GCN, same run: test accuracy (mean ± std over seeds), time per epoch, peak RSS.

For each dataset both modes run the same model (2-layer GCN, hidden 64, dropout 0.5, Adam lr 0.01, weight decay
5e-4, 200 epochs, epoch picked by validation accuracy) through ``graphsparse train``; the cluster mode adds
``--batching cluster --parts P --clusters-per-batch Q``. Each (dataset, mode) runs in its own process so its
peak RSS is its own. Seeds 0..N-1 (seed i on the dataset's split i: stratified 20-per-class / 30-per-class
splits for Amazon and Coauthor, the public split on PubMed). Time per epoch is training only (evaluation
excluded) for the cluster mode and the whole epoch for full batch.

Usage::

    python benchmarks/cluster_accuracy.py                                  # 3 datasets, 5 seeds, markdown table
    python benchmarks/cluster_accuracy.py --datasets pubmed --seeds 2 --json
    python benchmarks/cluster_accuracy.py --modes disk --out benchmarks/results/cluster_accuracy.json  # add a column
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

# parts and clusters per batch: ~50-100 nodes per part, batches of about a tenth of the graph
# (PubMed with 300 parts, q = 30 gave 78.06 ± 0.65 vs 79.20 full batch: its public split has only 60 training nodes, so
# small batches see very few of them)
SETTINGS = {"amazon-computers": (200, 20), "coauthor-physics": (400, 40), "pubmed": (100, 20)}


def child(dataset: str, mode: str, seeds: int) -> dict:
    from graphsparse.cli import build_parser

    argv = [
        "train",
        "--dataset",
        dataset,
        "--model",
        "gcn",
        "--preset",
        "none",
        "--hidden",
        "64",
        "--seeds",
        str(seeds),
        "--json",
        "--no-progress",
        "--db",
        "/tmp/graphsparse_cluster_accuracy.db",
    ]
    if mode in ("cluster", "disk", "disk-whole-eval"):
        parts, q = SETTINGS[dataset]
        argv += ["--batching", "cluster", "--parts", str(parts), "--clusters-per-batch", str(q)]
    if mode.startswith("disk"):  # the same Cluster-GCN from a part-ordered disk graph, evaluated batch by batch
        argv += ["--on-disk"]
    if mode == "disk-whole-eval":  # ... or with every part in one evaluation batch (no edge dropped)
        argv += ["--eval-clusters-per-batch", str(SETTINGS[dataset][0])]
    args = build_parser().parse_args(argv)
    summary = args.handler(args)
    summary["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    summary["command_line"] = "graphsparse " + " ".join(argv[:-2])  # "command" is the subcommand
    return summary


def _seed_count(result: dict) -> int | None:
    """How many seeds a stored cell ran: ``seeds`` is the list of seeds (JSON schema 1) or, in older files, a count."""
    seeds = result.get("seeds")
    return len(seeds) if isinstance(seeds, list) else seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(SETTINGS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--modes",
        default="full,cluster,disk",
        help="full, cluster (in memory), disk (`--on-disk`: memory maps, batched evaluation), disk-whole-eval (the "
        "same with all parts in one evaluation batch); default: full,cluster,disk",
    )
    parser.add_argument("--out", default=None, help="results JSON: finished cells are kept, new ones added")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        dataset, mode = args.child.split(":")
        print(json.dumps(child(dataset, mode, args.seeds)))
        return 0
    import torch

    torch.set_num_threads(1)
    out = Path(args.out) if args.out else None
    results: dict[str, dict] = json.loads(out.read_text()) if out is not None and out.is_file() else {}
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if dataset not in SETTINGS:
            raise ValueError(f"no cluster setting for {dataset!r}; known: {', '.join(SETTINGS)}")
        for mode in args.modes.split(","):
            if _seed_count(results.get(f"{dataset}/{mode}", {})) == args.seeds:
                continue  # already measured (re-running an interrupted benchmark keeps finished cells)
            done = subprocess.run(
                [sys.executable, __file__, f"--child={dataset}:{mode}", f"--seeds={args.seeds}"],
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
            if done.returncode != 0:
                raise RuntimeError(f"{dataset}/{mode} failed: {done.stderr[-2000:]}")
            results[f"{dataset}/{mode}"] = json.loads(done.stdout.strip().splitlines()[-1])
            if out is not None:
                out.write_text(json.dumps(results, indent=1, sort_keys=True))
    if args.json:
        print(json.dumps(results, sort_keys=True))
        return 0
    print(table(results))
    print()
    print(disk_table(results))
    return 0


def _complete(results: dict[str, dict], modes: tuple[str, ...]) -> list[tuple[str, list[dict]]]:
    """``(dataset label, one cell per mode)`` for every dataset measured in all of ``modes``."""
    rows = []
    for dataset in dict.fromkeys(k.split("/")[0] for k in results):
        cells = [results.get(f"{dataset}/{mode}") for mode in modes]
        if all(cells):
            parts, q = SETTINGS[dataset]
            rows.append((f"{dataset} ({parts} parts, q = {q})", cells))
    return rows


def _acc(cell: dict) -> str:
    return f"{100 * cell['test_acc_mean']:.2f} ± {100 * cell['test_acc_std']:.2f}"


def table(results: dict[str, dict]) -> str:
    """Full batch beside in-memory Cluster-GCN: accuracy, epoch time, peak RSS."""
    lines = [
        "| dataset | full-batch acc | Cluster-GCN acc | Δ | epoch full (ms) | epoch cluster (ms) | "
        "peak RSS full (GB) | peak RSS cluster (GB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, (full, cl) in _complete(results, ("full", "cluster")):
        delta = 100 * (cl["test_acc_mean"] - full["test_acc_mean"])
        times = " | ".join(f"{1000 * c['epoch_seconds_mean']:.0f}" for c in (full, cl))
        lines.append(
            f"| {label} | {_acc(full)} | {_acc(cl)} | {delta:+.2f} | {times} | "
            f"{full['peak_rss_gb']:.2f} | {cl['peak_rss_gb']:.2f} |"
        )
    return "\n".join(lines)


def disk_table(results: dict[str, dict]) -> str:
    """In-memory Cluster-GCN (full-graph evaluation) beside the on-disk path (batched evaluation; and with every
    part in one evaluation batch where measured), same seeds."""
    whole = any(k.endswith("/disk-whole-eval") for k in results)
    modes = ("full", "cluster", "disk", "disk-whole-eval") if whole else ("full", "cluster", "disk")
    extra = " on disk, one evaluation batch |" if whole else ""
    lines = [
        f"| dataset | full-batch acc | Cluster-GCN in memory | on disk |{extra} Δ disk − in memory "
        "| epoch on disk (ms) | peak RSS on disk (GB) |",
        "|---|---:|---:|---:|" + ("---:|" if whole else "") + "---:|---:|---:|",
    ]
    for label, cells in _complete(results, modes):
        delta = 100 * (cells[2]["test_acc_mean"] - cells[1]["test_acc_mean"])
        accs = " | ".join(_acc(c) for c in cells)
        lines.append(
            f"| {label} | {accs} | {delta:+.2f} | {1000 * cells[2]['epoch_seconds_mean']:.0f} | "
            f"{cells[2]['peak_rss_gb']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
