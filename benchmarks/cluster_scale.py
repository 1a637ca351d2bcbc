"""Cluster-GCN at Amazon2M scale: generate, partition, train one epoch; peak RSS; full-batch GCN beside it.

Each mode runs in its own process so its peak RSS (``ru_maxrss``) is its own:

- ``cluster``: synthetic DC-SBM (default 2,000,000 nodes, 30,000,000 undirected edges, 100 features, 47 classes),
  METIS partition (recursive bisection, no cache), one epoch of a 3-layer Cluster-GCN (``[A'H ‖ H]W`` +
  LayerNorm, hidden 128) over ``--parts`` clusters, ``--clusters-per-batch`` per batch;
- ``full``: the same graph, one full-batch epoch of a 3-layer GCN (hidden 128).

Usage::

    python benchmarks/cluster_scale.py                       # both modes, prints a table
    python benchmarks/cluster_scale.py --json                # one JSON object
    python benchmarks/cluster_scale.py --nodes 20000 --edges 200000 --parts 50   # a quick small run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def run_mode(args: argparse.Namespace) -> dict:
    import torch
    import torch.nn.functional as F

    from graphsparse.batching import ClusterLoader, metis_partition
    from graphsparse.data.synthetic import synthetic_dcsbm
    from graphsparse.nn import build_model

    torch.set_num_threads(args.threads)
    out: dict = {"mode": args.mode, "nodes": args.nodes, "edges": args.edges, "features": args.features}
    start = time.perf_counter()
    graph = synthetic_dcsbm(
        num_nodes=args.nodes, num_edges=args.edges, num_features=args.features, num_classes=args.classes, seed=0
    )
    out["generate_seconds"] = time.perf_counter() - start
    out["edges_built"] = graph.num_edges
    train = graph.split(next(iter(graph.splits))).train if graph.splits else torch.ones(graph.num_nodes, dtype=bool)
    torch.manual_seed(0)
    if args.mode == "cluster":
        start = time.perf_counter()
        parts = metis_partition(graph, args.parts, recursive=True, use_cache=False)
        out["partition_seconds"] = time.perf_counter() - start
        model = build_model("cluster-gcn", graph.num_features, graph.num_classes, num_layers=3, hidden_channels=128)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        loader = ClusterLoader(graph, parts, args.clusters_per_batch, seed=0, progress=args.progress)
        model.train()
        start = time.perf_counter()
        for batch in loader:
            index = train[batch.nodes].nonzero().view(-1)
            optimizer.zero_grad()
            logits = model(batch.graph)
            loss = F.cross_entropy(logits[index], batch.graph.y[index]) if index.numel() else logits.sum() * 0
            loss.backward()
            optimizer.step()
        out["epoch_seconds"] = time.perf_counter() - start
        out["batches"] = len(loader)
    else:
        model = build_model("gcn", graph.num_features, graph.num_classes, num_layers=3, hidden_channels=128)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        index = train.nonzero().view(-1)
        model.train()
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(graph)[index], graph.y[index])
        loss.backward()
        optimizer.step()
        out["epoch_seconds"] = time.perf_counter() - start
    out["peak_rss_gb"] = _peak_rss_gb()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--edges", type=int, default=30_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--classes", type=int, default=47)
    parser.add_argument("--parts", type=int, default=1500)
    parser.add_argument("--clusters-per-batch", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", default="cluster,full", help="cluster, full or both (each in its own process)")
    parser.add_argument("--mode", default=None, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.mode:
        print(json.dumps(run_mode(args)))
        return 0
    results = {}
    passthrough = [
        f"--{k.replace('_', '-')}={v}"
        for k, v in vars(args).items()
        if k in ("nodes", "edges", "features", "classes", "parts", "clusters_per_batch", "threads")
    ]
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        child = subprocess.run(
            [sys.executable, __file__, f"--mode={mode}", *passthrough], capture_output=True, text=True
        )
        if child.returncode != 0:
            results[mode] = {
                "mode": mode,
                "error": child.stderr.strip().splitlines()[-1] if child.stderr else "failed",
                "returncode": child.returncode,
            }
            continue
        results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(results, sort_keys=True))
        return 0
    for mode, r in results.items():
        if "error" in r:
            print(f"{mode}: failed ({r['returncode']}): {r['error']}")
            continue
        part = f", partition {r['partition_seconds']:.1f} s" if "partition_seconds" in r else ""
        print(
            f"{mode}: {r['nodes']:,} nodes, {r['edges_built']:,} edges; generate {r['generate_seconds']:.1f} s"
            f"{part}, one epoch {r['epoch_seconds']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
