"""Time of the Cora TEDDY protocol per seed, and its per-level accuracies beside the published ones.

The protocol is what ``graphsparse glt`` runs by default on Cora (the TEDDY paper's: the 512-wide GCN of the TEDDY
and UGS reference code, TEDDY edge scores, l0-projected weights, distillation λ = 10 from a dense teacher per
seed, 20 levels, 200 epochs each)::

    graphsparse glt --dataset cora --method teddy --preset teddy --distill 10 --rounds 20 --seeds 1

Each run is that command in a fresh process on an empty results database (nothing is loaded from a store),
timed from start to exit (dataset loading, the dense baseline, the teacher and every level included), with one
torch thread unless ``--threads`` says otherwise. The report gives seconds per seed, every level's test accuracy
and, beside them, the reference: ``docs/glt/cora_teddy_kd10.json`` (3 seeds, mean and std per level) when the run
has 3 seeds, and the baseline's numbers when ``--baseline-code`` times another source tree (e.g. an older commit
unpacked with ``git archive``) in the same invocation, alternating with this checkout so that both see the same
load. ``identical`` says whether every level's accuracy equals the reference's to 1e-9.

Usage::

    python benchmarks/glt_speed.py                                 # 1 seed, 20 levels
    python benchmarks/glt_speed.py --seeds 3                       # the published table's protocol
    python benchmarks/glt_speed.py --seeds 3 --workers 2           # seeds side by side on 2 Ray workers
    python benchmarks/glt_speed.py --seeds 3 --document-out docs/glt/cora_teddy_kd10.json   # and regenerate it
    python benchmarks/glt_speed.py --levels 1,10,20 --baseline-code /tmp/old --repeats 3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "glt" / "cora_teddy_kd10.json"
PROTOCOL = ["glt", "--dataset", "cora", "--method", "teddy", "--preset", "teddy", "--distill", "10", "--rounds", "20"]
PROTOCOL_DISTILL = float(PROTOCOL[PROTOCOL.index("--distill") + 1])
TOLERANCE = 1e-9


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_protocol(code: Path, seeds: int, levels: str | None, threads: int, workers: int = 0) -> dict[str, Any]:
    """One run of the protocol with the graphsparse package of ``code`` in a fresh process (``workers`` > 0:
    its units on that many local Ray workers of ``threads`` threads each); its JSON document, with the wall time
    and the load average before and after added."""
    with tempfile.TemporaryDirectory(prefix="glt_speed_") as tmp:
        command = [sys.executable, "-m", "graphsparse.cli", *PROTOCOL, "--seeds", str(seeds)]
        command += ["--json", "--no-progress", "--db", str(Path(tmp) / "store.db"), "--plot", str(Path(tmp) / "p.png")]
        if levels:
            command += ["--levels", levels]
        if workers:
            command += ["--workers", str(workers)]
        if (code / "graphsparse" / "threads.py").is_file():  # a tree with the thread policy: say it explicitly
            command += ["--threads", str(threads)]
        env = dict(
            os.environ,
            PYTHONPATH=str(code),
            OMP_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
            GRAPHSPARSE_DATA=str(REPO / "datasets"),  # an unpacked tree has no datasets/ of its own
            GRAPHSPARSE_CACHE=str(Path(tmp) / "cache"),
        )
        before = _load()
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"glt_speed: the protocol failed with {code}:\n{proc.stderr[-2000:]}")
        document = json.loads(proc.stdout)
    document["wall_seconds"] = seconds
    document["load_before"], document["load_after"] = before, _load()
    return document


def _distill(document: dict[str, Any]) -> float | None:
    """TEDDY's λ in a `glt --json` document: ``method_options`` (per method) or, in documents written before the
    methods became plug-ins, the top-level ``distill``."""
    options = document.get("method_options")
    if options is not None:
        teddy = options.get("teddy")
        return None if teddy is None else float(teddy["distill"])
    return None if document.get("distill") is None else float(document["distill"])


def _levels(document: dict[str, Any]) -> dict[int, dict[str, float]]:
    rows = {0: document["dense"], **{int(r["round"]): r for r in document["levels"]}}
    return {k: {"mean": float(r["test_acc_mean"]), "std": float(r["test_acc_std"])} for k, r in rows.items()}


def compare(levels: dict[int, dict[str, float]], reference: dict[int, dict[str, float]]) -> dict[str, Any]:
    """Per level: ours, the reference's and whether they are equal (mean and std within 1e-9)."""
    rows, identical = [], True
    for k, ours in sorted(levels.items()):
        ref = reference.get(k)
        same = ref is not None and all(abs(ours[f] - ref[f]) <= TOLERANCE for f in ("mean", "std"))
        identical &= same
        rows.append({"round": k, "ours": ours, "reference": ref, "identical": same})
    return {"identical": identical, "levels": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default: 1; 3 compares with the JSON)")
    parser.add_argument("--levels", default=None, help="only these levels, e.g. '1,10,20' (default: all 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the seeds' units side by side on N local Ray workers (`glt --workers N`; default: one process)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per source tree; the median is reported")
    parser.add_argument("--baseline-code", type=Path, default=None, help="another source tree to time alongside")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "glt_speed.json")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--document-out",
        type=Path,
        default=None,
        help="also write this checkout's `glt --json` document (first repeat) there, e.g. to regenerate "
        "docs/glt/cora_teddy_kd10.json",
    )
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f"--workers must be >= 0, got {args.workers}")
    for name in ("seeds", "threads", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    codes = {"this checkout": REPO}
    if args.baseline_code is not None:
        if not (args.baseline_code / "graphsparse" / "__init__.py").is_file():
            parser.error(f"--baseline-code {args.baseline_code}: no graphsparse package there")
        codes["baseline"] = args.baseline_code.resolve()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
    for repeat in range(args.repeats):  # alternate the trees, so that both see the same load
        order = list(codes) if repeat % 2 == 0 else list(reversed(codes))
        for name in order:
            runs[name].append(run_protocol(codes[name], args.seeds, args.levels, args.threads, args.workers))
            print(f"{name}: {runs[name][-1]['wall_seconds']:.1f} s", file=sys.stderr)
    report: dict[str, Any] = {
        "protocol": " ".join(["graphsparse", *PROTOCOL, "--seeds", str(args.seeds)])
        + (f" --levels {args.levels}" if args.levels else "")
        + (f" --workers {args.workers}" if args.workers else ""),
        "threads": args.threads,
        "workers": args.workers,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    for name, documents in runs.items():
        wall = statistics.median(d["wall_seconds"] for d in documents)
        levels = _levels(documents[0])
        if any(_levels(d) != levels for d in documents[1:]):
            raise SystemExit(f"glt_speed: repeated runs of {name} gave different accuracies")
        if _distill(documents[0]) != PROTOCOL_DISTILL:
            raise SystemExit(f"glt_speed: {name} ran TEDDY with λ = {_distill(documents[0])}, not {PROTOCOL_DISTILL:g}")
        report[name] = {
            "seconds": wall,
            "seconds_per_seed": wall / args.seeds,
            "all_seconds": [d["wall_seconds"] for d in documents],
            "load": [[d["load_before"], d["load_after"]] for d in documents],
            "threads_recorded": documents[0].get("config", {}).get("threads"),
            "distill": _distill(documents[0]),
            "levels": levels,
            "level_seconds": {int(r["round"]): float(r["seconds"]) for r in documents[0]["levels"]},
        }
    if args.document_out is not None:
        args.document_out.write_text(json.dumps(runs["this checkout"][0], sort_keys=True, default=float) + "\n")
    ours = report["this checkout"]["levels"]
    if "baseline" in report:
        report["vs_baseline"] = compare(ours, report["baseline"]["levels"])
        report["speedup"] = report["baseline"]["seconds"] / report["this checkout"]["seconds"]
    if args.seeds == 3 and REFERENCE.is_file():
        published = json.loads(REFERENCE.read_text())
        report["vs_published"] = compare(ours, _levels(published))
        report["vs_published"]["source"] = str(REFERENCE.relative_to(REPO))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        _print(report)
    return report


def _print(report: dict[str, Any]) -> None:
    print(f"{report['protocol']}  ({report['threads']} thread(s), {report['repeats']} repeat(s), {report['date']})")
    for name in ("this checkout", "baseline"):
        if name in report:
            r = report[name]
            print(f"{name}: {r['seconds']:.1f} s, {r['seconds_per_seed']:.1f} s per seed (load {r['load']})")
    if "speedup" in report:
        print(f"speed-up over the baseline: {report['speedup']:.2f}x")
    for key in ("vs_baseline", "vs_published"):
        if key not in report:
            continue
        print(f"\n{key}: identical = {report[key]['identical']}")
        print("| level | test acc (ours) | reference | identical |")
        print("|---:|---:|---:|:---:|")
        for row in report[key]["levels"]:
            ref = row["reference"]
            ref_text = "—" if ref is None else f"{100 * ref['mean']:.2f} ± {100 * ref['std']:.2f}"
            ours = row["ours"]
            print(
                f"| {row['round']} | {100 * ours['mean']:.2f} ± {100 * ours['std']:.2f} | {ref_text} | "
                f"{'yes' if row['identical'] else 'NO'} |"
            )


if __name__ == "__main__":
    main()
