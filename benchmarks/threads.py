"""GCN epoch time at 1 and 2 intra-op threads, on an otherwise idle machine and beside a competing busy process,
and the thread count :mod:`graphsparse.threads` picks in each case.

For each graph (Cora, PubMed, the 200k-node synthetic DC-SBM of ``benchmarks/gcn_epoch.py``) and each condition
(``idle``: nothing started by this script; ``busy``: one single-threaded busy loop started beside it), the policy is
asked first (:func:`graphsparse.threads.choose_threads` with the graph's size and the cores it measures busy), then
full-batch epochs (graphsparse's GCN, dropout on, cross-entropy on the training nodes, backward, Adam step) run at
1 and 2 threads alternately in a shuffled order, so that load from elsewhere hits both alike; the median per
thread count is reported with whether the policy's pick was the faster one. As the project's entry points do, it
chooses the wait policy before importing torch (:func:`graphsparse.threads.choose_wait_policy`: PASSIVE when
the machine is busy at the start) unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set
(``GOMP_SPINCOUNT=300000``, libgomp's default spin, measures spinning threads); the report records both. The
machine's load (cores busy just before each condition) is recorded: on a shared machine "idle" means only that
this script added nothing.

Usage::

    python benchmarks/threads.py                      # cora, pubmed, synthetic; hidden 16; 15 repeats
    python benchmarks/threads.py --graphs cora --hidden 512 --repeats 30
    python benchmarks/threads.py --quick --json       # a small synthetic graph (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from graphsparse.threads import SPIN_COUNT_ENV, WAIT_POLICY_ENV, choose_wait_policy  # noqa: E402  (imports no torch)

choose_wait_policy(os.environ)  # the project's wait policy, before torch's OpenMP runtime reads it (at import)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from graphsparse.data import load_dataset  # noqa: E402
from graphsparse.graph import Graph  # noqa: E402
from graphsparse.nn import build_model  # noqa: E402
from graphsparse.threads import busy_cores, choose_threads, graph_work  # noqa: E402

SYNTHETIC = {"num_nodes": 200_000, "num_edges": 2_000_000, "num_features": 128, "num_classes": 4, "seed": 0}
QUICK_SYNTHETIC = {"num_nodes": 2_000, "num_edges": 10_000, "num_features": 32, "num_classes": 4, "seed": 0}
THREADS = (1, 2)


def load_graph(name: str, quick: bool) -> Graph:
    if name == "synthetic":
        return load_dataset("synthetic", **(QUICK_SYNTHETIC if quick else SYNTHETIC))
    return load_dataset(name)


def make_epoch(graph: Graph, hidden: int, seed: int = 0) -> Any:
    """One full-batch training epoch of a 2-layer GCN on ``graph`` (forward, loss, backward, Adam step)."""
    torch.manual_seed(seed)
    model = build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    name = "public" if "public" in graph.splits else next(iter(graph.splits))
    train = graph.split(name).index("train")
    y = graph.y

    def epoch() -> None:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(graph)[train], y[train])
        loss.backward()
        optimizer.step()

    return epoch


def time_threads(epoch: Any, repeats: int, warmup: int, seed: int = 0) -> dict[int, list[float]]:
    """Seconds per epoch at each thread count of :data:`THREADS`, interleaved in a shuffled order per repeat."""
    for _ in range(warmup):
        for n in THREADS:
            torch.set_num_threads(n)
            epoch()
    rng = random.Random(seed)
    times: dict[int, list[float]] = {n: [] for n in THREADS}
    order = list(THREADS)
    for _ in range(repeats):
        rng.shuffle(order)
        for n in order:
            torch.set_num_threads(n)
            start = time.perf_counter()
            epoch()
            times[n].append(time.perf_counter() - start)
    return times


def start_competitor() -> subprocess.Popen:
    """A single-threaded busy loop in its own process (the 'competing process')."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def measure(graph: Graph, condition: str, args: argparse.Namespace) -> dict[str, Any]:
    competitor = start_competitor() if condition == "busy" else None
    try:
        if competitor is not None:
            time.sleep(1.0)  # let it reach full speed before the policy and the clock look
        busy = busy_cores(0.5)
        work = graph_work(graph.num_nodes, graph.num_edges)
        pick = choose_threads(work, busy=busy)
        times = time_threads(make_epoch(graph, args.hidden, args.seed), args.repeats, args.warmup, args.seed)
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    medians = {n: statistics.median(values) for n, values in times.items()}
    faster = min(medians, key=medians.__getitem__)
    return {
        "condition": condition,
        "busy_cores_before": busy,
        "policy_threads": pick.threads,
        "policy_reason": pick.reason,
        **{f"epoch_ms_{n}_thread{'s' if n > 1 else ''}": 1e3 * medians[n] for n in THREADS},
        "faster": faster,
        "policy_picks_faster": pick.threads == faster,
        "ratio_2_over_1": medians[2] / medians[1],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", default="cora,pubmed,synthetic", help="comma-separated: cora, pubmed, synthetic")
    parser.add_argument("--hidden", type=int, default=16, help="GCN hidden channels (default: 16)")
    parser.add_argument("--repeats", type=int, default=15, help="timed epochs per thread count (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--conditions", default="idle,busy", help="idle, busy or both (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a small synthetic graph, few repeats (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default: benchmarks/results/threads.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.quick:
        args.graphs, args.repeats, args.warmup = "synthetic", min(args.repeats, 3), 1
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    if not conditions or set(conditions) - {"idle", "busy"}:
        parser.error(f"--conditions takes idle, busy or both, got {args.conditions!r}")
    if (os.cpu_count() or 1) < 2:
        parser.error("this benchmark compares 1 and 2 threads: it needs at least 2 CPUs")
    report: dict[str, Any] = {
        "config": {
            "hidden": args.hidden,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "threads": list(THREADS),
            "cpu_count": os.cpu_count(),
            "omp_wait_policy": os.environ.get(WAIT_POLICY_ENV),
            "gomp_spincount": os.environ.get(SPIN_COUNT_ENV),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "quick": args.quick,
        },
        "graphs": {},
    }
    for name in [g.strip() for g in args.graphs.split(",") if g.strip()]:
        graph = load_graph(name, args.quick)
        rows = [measure(graph, condition, args) for condition in conditions]
        report["graphs"][name] = {
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "work": graph_work(graph.num_nodes, graph.num_edges),
            "rows": rows,
        }
        for row in rows:
            print(
                f"{name} {row['condition']}: 1 thread {row['epoch_ms_1_thread']:.1f} ms, 2 threads "
                f"{row['epoch_ms_2_threads']:.1f} ms; policy {row['policy_threads']} ({row['policy_reason']})",
                file=sys.stderr,
            )
    report["policy_picks_faster_everywhere"] = all(
        row["policy_picks_faster"] for g in report["graphs"].values() for row in g["rows"]
    )
    default_name = "threads_quick.json" if args.quick else "threads.json"
    out = args.out or Path(__file__).resolve().parent / "results" / default_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(f"hidden {args.hidden}, medians of {args.repeats} epochs per thread count, {report['config']['date']}")
        print("| graph | condition | cores busy before | 1 thread (ms) | 2 threads (ms) | policy | faster? |")
        print("|---|---|---:|---:|---:|---:|:---:|")
        for name, g in report["graphs"].items():
            for row in g["rows"]:
                busy = "—" if row["busy_cores_before"] is None else f"{row['busy_cores_before']:.1f}"
                print(
                    f"| {name} | {row['condition']} | {busy} | {row['epoch_ms_1_thread']:.1f} | "
                    f"{row['epoch_ms_2_threads']:.1f} | {row['policy_threads']} | "
                    f"{'yes' if row['policy_picks_faster'] else 'no'} |"
                )
    return report


if __name__ == "__main__":
    main()
