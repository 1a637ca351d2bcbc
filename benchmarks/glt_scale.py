"""GLT search at two million nodes: TEDDY + KD, random and UGS on Cluster-GCN batches read from disk.

Every step is its own ``graphsparse`` command in its own process(es), so each process's peak RSS is its own. Peak
RSS is read every 0.2 s over the command's whole process tree (METIS's child, Ray workers): each process's
high-water mark (``VmHWM`` of ``/proc/<pid>/status``, the kernel's peak, so nothing between samples is missed;
psutil's current RSS where that file is unreadable), and the peak of every process is reported.

1. ``generate``: the synthetic DC-SBM (default 2,000,000 nodes, 30,000,000 undirected edges, 100 features,
   47 classes; ``synthetic_dcsbm_to_disk``) as a one-part disk graph.
2. ``ugs``: ``graphsparse glt --disk RAW --method ugs``: first the dense level, a dense 3-layer Cluster-GCN (hidden
   128) trained ``--epochs`` epochs on the search's batches (METIS on the training graph, ``--parts`` parts, ``q``
   per batch), with the same trainer and evaluation as every level and nothing else: the time a level is compared
   with; then UGS's rounds 1..max(levels) (iterative: every round trains masks, then retrains its ticket).
3. ``search``: TEDDY + KD (λ = 10) and random at levels ``--levels`` of the usual schedule (graph 5 %, weights
   20 % per level), one seed, into the same store: the dense level is loaded, and the teacher is trained (and its
   logits written to disk) by a teacher unit.
4. ``workers``: the ``search`` step again into a fresh store with ``--workers 2`` (per-worker peak RSS).

Usage::

    python benchmarks/glt_scale.py --json                          # the 2M-node run (about an hour on 2 cores)
    python benchmarks/glt_scale.py --nodes 20000 --edges 200000 --parts 40 --quick --json   # a smoke test

``--json`` prints one object: ``nodes``, ``edges``, every process's ``peak_rss_gb`` per step (``processes``),
``dense`` (seconds, accuracy), and per method its levels (seconds, accuracy, graph/weight sparsity) and
``level_vs_dense`` (a level's seconds over the dense Cluster-GCN run's), plus ``teddy_level_vs_ugs_rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _high_water(pid: int) -> int | None:
    """The process's peak resident set in bytes (``VmHWM``), or None where /proc does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tree_peaks(proc: subprocess.Popen, peaks: dict[int, dict], stop: threading.Event) -> None:
    """Sample the RSS of ``proc`` and its descendants until ``stop``; keep each process's peak."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                rss = _high_water(p.pid) or p.memory_info().rss
                name = " ".join(p.cmdline()[:4])[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            entry = peaks.setdefault(p.pid, {"pid": p.pid, "command": name, "peak_rss_gb": 0.0})
            entry["peak_rss_gb"] = max(entry["peak_rss_gb"], rss / 1024**3)
        stop.wait(0.2)


def run_step(name: str, argv: list[str], env: dict[str, str], log: Path) -> tuple[dict, list[dict], float]:
    """Run one command; returns its last stdout line as JSON (or {}), its processes' peak RSS, its seconds."""
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
        peaks: dict[int, dict] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=_tree_peaks, args=(proc, peaks, stop), daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        stop.set()
        sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}); see {log}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    doc = json.loads(lines[-1]) if lines else {}
    processes = sorted(peaks.values(), key=lambda p: -p["peak_rss_gb"])
    # Ray's own daemons (raylet, GCS, dashboard) are not the search's processes: reported apart
    for p in processes:
        p["ray_daemon"] = any(k in p["command"] for k in ("raylet", "gcs_server", "dashboard", "log_monitor"))
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {seconds:.0f} s", file=sys.stderr, flush=True)
    return doc, processes, seconds


def _levels(doc: dict) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for r in doc.get("levels", []):
        out.setdefault(r["method"], {})[int(r["round"])] = {
            "seconds": r["seconds"],
            "test_acc": r["test_acc_mean"],
            "graph_sparsity": r["graph_sparsity"],
            "weight_sparsity": r["weight_sparsity"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the steps and print a table (or one JSON object)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=2_000_000)
    p.add_argument("--edges", type=int, default=30_000_000)
    p.add_argument("--features", type=int, default=100)
    p.add_argument("--classes", type=int, default=47)
    p.add_argument("--parts", type=int, default=1500, help="METIS parts (default 1500, the Amazon2M setting)")
    p.add_argument("--clusters-per-batch", type=int, default=20)
    p.add_argument("--epochs", type=int, default=2, help="epochs of every training (default 2)")
    p.add_argument("--levels", default="1,5,10", help="levels of TEDDY + KD and random (UGS runs 1..max)")
    p.add_argument("--steps", default="ugs,search,workers", help="which steps to run")
    p.add_argument("--workdir", default=None, help="where the graph, caches and stores go")
    p.add_argument("--store", default="glt", help="name of the results store in the work folder (default: glt)")
    p.add_argument("--quick", action="store_true", help="hidden 16 instead of 128 (smoke test)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    work = Path(args.workdir or ROOT / "runs" / "glt-scale") / f"n{args.nodes}-m{args.edges}-f{args.features}"
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", GRAPHSPARSE_CACHE=str(work / "cache"), PYTHONPATH=str(ROOT))
    py = sys.executable
    raw = work / "raw"
    out: dict = {"nodes": args.nodes, "edges": args.edges, "features": args.features, "epochs": args.epochs}
    out["processes"] = {}
    if not (raw / "meta.json").is_file():
        code = (
            "from graphsparse.data.synthetic import synthetic_dcsbm_to_disk as w; "
            f"w({str(raw)!r}, num_nodes={args.nodes}, num_edges={args.edges}, num_features={args.features}, "
            f"num_classes={args.classes}, seed=0)"
        )
        _, procs, seconds = run_step("generate", [py, "-c", code], env, work / "generate.log")
        out["processes"]["generate"], out["generate_seconds"] = procs, seconds
    hidden = "16" if args.quick else "128"
    model = ["--model", "cluster-gcn", "--hidden", hidden, "--epochs", str(args.epochs)]
    batches = ["--parts", str(args.parts), "--clusters-per-batch", str(args.clusters_per_batch), "--train-only"]
    steps = set(args.steps.split(","))
    rounds = max(int(k) for k in args.levels.split(","))
    common = [*model, *batches, "--rounds", str(rounds), "--seeds", "1", "--json", "--no-progress"]
    glt = [py, "-m", "graphsparse.cli", "glt", "--disk", str(raw), *common]

    if "ugs" in steps:  # first: its dense level trains without computing a teacher's logits
        argv_ugs = [*glt, "--method", "ugs", "--db", str(work / f"{args.store}.db"), "--plot", str(work / "ugs.png")]
        doc, procs, seconds = run_step("ugs", argv_ugs, env, work / "ugs.log")
        out["ugs"] = {"seconds": seconds, "levels": _levels(doc)}
        dense = doc["dense"]
        out["dense"] = {"seconds": dense["seconds"], "test_acc": dense["test_acc_mean"]}
        out["processes"]["ugs"] = procs
    if "search" in steps:
        db = str(work / f"{args.store}.db")
        argv_search = [*glt, "--method", "teddy,random", "--levels", args.levels, "--db", db,
                       "--plot", str(work / "glt.png")]  # fmt: skip
        doc, procs, seconds = run_step("search", argv_search, env, work / "search.log")
        out["search"] = {"seconds": seconds, "dense_level": doc["dense"], "levels": _levels(doc)}
        out["processes"]["search"] = procs
    if "workers" in steps:
        store = work / f"{args.store}_workers.db"
        store.unlink(missing_ok=True)
        argv_workers = [*glt, "--method", "teddy,random", "--levels", args.levels, "--workers", "2",
                        "--db", str(store), "--plot", str(work / "glt_workers.png")]  # fmt: skip
        doc, procs, seconds = run_step("workers", argv_workers, env, work / "workers.log")
        out["workers"] = {"seconds": seconds, "levels": _levels(doc)}
        out["processes"]["workers"] = procs
    summarize(out)
    (work / f"result_{args.store}.json").write_text(json.dumps(out, indent=1, sort_keys=True))
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print_table(out)
    return 0


def summarize(out: dict) -> None:
    """Add ``peak_rss_gb`` (per step: the largest process, and every process), ``level_vs_dense`` and ratios."""
    out["peak_rss_gb"] = {
        step: {
            "max": max((p["peak_rss_gb"] for p in procs if not p["ray_daemon"]), default=0.0),
            "per_process": [round(p["peak_rss_gb"], 3) for p in procs if not p["ray_daemon"]],
        }
        for step, procs in out["processes"].items()
    }
    dense = (out.get("dense") or {}).get("seconds")
    methods: dict[str, dict] = {}
    for step in ("search", "ugs"):
        for method, levels in (out.get(step) or {}).get("levels", {}).items():
            entry = methods.setdefault(method, {"levels": {}})
            entry["levels"].update(levels)
            if dense:
                entry["level_vs_dense"] = {k: v["seconds"] / dense for k, v in entry["levels"].items()}
    out["methods"] = methods
    ugs = methods.get("ugs", {}).get("levels", {})
    teddy = methods.get("teddy", {}).get("levels", {})
    if ugs and teddy:
        last = max(teddy)
        total = sum(v["seconds"] for k, v in ugs.items() if k <= last)
        out["teddy_level_vs_ugs_rounds"] = teddy[last]["seconds"] / total if total else None


def print_table(out: dict) -> None:
    """A readable summary of :func:`summarize`'s numbers."""
    print(f"GLT at {out['nodes']:,} nodes / {out['edges']:,} edges, {out['epochs']} epochs per training")
    dense = out.get("dense", {})
    if dense:
        print(f"dense Cluster-GCN: {100 * dense['test_acc']:.2f}% in {dense['seconds']:.1f} s")
    for method, entry in out.get("methods", {}).items():
        for k, level in sorted(entry["levels"].items()):
            ratio = entry.get("level_vs_dense", {}).get(k)
            print(
                f"{method:8s} level {k:2d}: {100 * level['test_acc']:.2f}% in {level['seconds']:.1f} s"
                + (f" ({ratio:.2f}x dense)" if ratio else "")
            )
    for step, rss in out["peak_rss_gb"].items():
        print(f"peak RSS {step}: {rss['max']:.2f} GB (processes: {rss['per_process']})")
    if out.get("teddy_level_vs_ugs_rounds") is not None:
        print(f"TEDDY's last level / UGS's rounds up to it: {out['teddy_level_vs_ugs_rounds']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
