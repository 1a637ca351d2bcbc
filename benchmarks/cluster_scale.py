"""Cluster-GCN at Amazon2M scale: generate, partition, train one epoch; peak RSS; full-batch GCN and DDP beside it.

Each mode runs in its own process(es) so its peak RSS (``ru_maxrss``) is its own:

- ``cluster``: synthetic DC-SBM (default 2,000,000 nodes, 30,000,000 undirected edges, 100 features, 47 classes)
  written straight to a disk graph folder (``synthetic_dcsbm_to_disk``), METIS (recursive bisection) on that
  folder's CSR, the folder rewritten with nodes ordered by part (``partitioned_disk_graph``), then one epoch of a
  3-layer Cluster-GCN (``[A'H ‖ H]W`` + LayerNorm, hidden 128) whose batches are read through memory maps
  (``DiskClusterLoader``), ``--clusters-per-batch`` parts per batch. All of it in one process: its peak RSS covers
  generation, partitioning and the epoch (``rss_after_*`` give the peak so far after each phase);
- ``ddp``: the partitioned folder of ``cluster`` (written first if missing, by its own process), two gloo ranks
  (torchrun), each mapping only its half of the parts, one epoch; peak RSS per rank;
- ``full``: the same graph in memory (``synthetic_dcsbm``), one full-batch epoch of a 3-layer GCN (hidden 128).

Usage::

    python benchmarks/cluster_scale.py                       # cluster and full, prints a table
    python benchmarks/cluster_scale.py --modes cluster,full,ddp --json   # one JSON object
    python benchmarks/cluster_scale.py --nodes 200000 --edges 3000000 --parts 150 --modes cluster,ddp   # smaller
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def _workdir(args: argparse.Namespace) -> Path:
    from graphsparse.batching.metis import default_cache_dir

    base = Path(args.workdir) if args.workdir else default_cache_dir() / "cluster-scale"
    return base / f"n{args.nodes}-m{args.edges}-f{args.features}-c{args.classes}"


def _disk_epoch(disk, loader, wrap=None) -> float:  # noqa: ANN001 - benchmark helper
    """One training epoch of the 3-layer Cluster-GCN over the loader's batches; returns its seconds."""
    import torch
    import torch.nn.functional as F

    from graphsparse.nn import build_model

    torch.manual_seed(0)
    model = build_model("cluster-gcn", disk.num_features, disk.num_classes, num_layers=3, hidden_channels=128)
    trained = wrap(model) if wrap is not None else model
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    split = disk.splits[0]
    trained.train()
    start = time.perf_counter()
    for batch in loader:
        index = batch.graph.split(split).index("train")
        optimizer.zero_grad()
        logits = trained(batch.graph)
        loss = F.cross_entropy(logits[index], batch.graph.y[index]) if index.numel() else logits.sum() * 0
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def _parts_name(args: argparse.Namespace) -> str:
    return f"parts{args.parts}" + ("-kway" if args.kway else "") + ("-train" if args.train_only else "")


def _partitioned(args: argparse.Namespace, out: dict) -> Path:
    from graphsparse.batching import partitioned_disk_graph
    from graphsparse.data.synthetic import synthetic_dcsbm_to_disk

    work = _workdir(args)
    start = time.perf_counter()
    raw = synthetic_dcsbm_to_disk(
        work / "raw",
        num_nodes=args.nodes,
        num_edges=args.edges,
        num_features=args.features,
        num_classes=args.classes,
        seed=0,
    )
    out["generate_seconds"] = time.perf_counter() - start
    out["rss_after_generate_gb"] = _peak_rss_gb()
    target = work / _parts_name(args)
    shutil.rmtree(target, ignore_errors=True)  # measured afresh, never read from the cache
    start = time.perf_counter()
    folder = partitioned_disk_graph(
        raw,
        args.parts,
        recursive=not args.kway,
        folder=target,
        metis_process=not args.metis_in_process,
        train_split="random" if args.train_only else None,
    )
    out["partition_seconds"] = time.perf_counter() - start  # METIS on the folder's CSR + the reordered rewrite
    out["rss_after_partition_gb"] = _peak_rss_gb()
    # METIS in a child process (the default; its working memory leaves with it): its own peak, reported beside ours
    out["metis_peak_rss_gb"] = json.loads((folder / "meta.json").read_text())["info"].get("metis_peak_rss_gb")
    out["metis_in_process"] = bool(args.metis_in_process)
    out["partitioned"] = "training graph, others join their neighbours' part" if args.train_only else "whole graph"
    out["metis"] = "k-way" if args.kway else "recursive bisection"
    return folder


def run_ddp_rank(args: argparse.Namespace) -> dict:
    """One torchrun rank of the ``ddp`` mode: map this rank's shard of the parts, train one epoch."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from graphsparse.batching import DiskClusterLoader, shard_parts
    from graphsparse.config import torchrun_env
    from graphsparse.data.diskgraph import DiskGraph

    torch.set_num_threads(args.threads)
    rank, world, _ = torchrun_env()
    dist.init_process_group("gloo")
    folder = _workdir(args) / _parts_name(args)
    share = shard_parts(int(DiskGraph.read_meta(folder)["num_parts"]), world, rank)
    disk = DiskGraph.open(folder, share)
    loader = DiskClusterLoader(disk, args.clusters_per_batch, seed=0, ranks=(rank, world))
    seconds = _disk_epoch(disk, loader, wrap=DistributedDataParallel)
    dist.destroy_process_group()
    return {
        "rank": rank,
        "world": world,
        "parts_opened": [share.start, share.stop],
        "rows_mapped": disk.mapped_rows,
        "batches": len(loader),
        "epoch_seconds": seconds,
        "peak_rss_gb": _peak_rss_gb(),
    }


def run_mode(args: argparse.Namespace) -> dict:
    import torch
    import torch.nn.functional as F

    from graphsparse.data.synthetic import synthetic_dcsbm
    from graphsparse.nn import build_model

    torch.set_num_threads(args.threads)
    out: dict = {"mode": args.mode, "nodes": args.nodes, "edges": args.edges, "features": args.features}
    if args.mode in ("cluster", "prepare"):
        from graphsparse.batching import DiskClusterLoader
        from graphsparse.data.diskgraph import DiskGraph

        folder = _partitioned(args, out)
        if args.mode == "prepare":
            out["peak_rss_gb"] = _peak_rss_gb()
            return out
        disk = DiskGraph.open(folder)
        out["edges_built"] = int(disk.meta["num_edges"])
        loader = DiskClusterLoader(disk, args.clusters_per_batch, seed=0, progress=args.progress)
        out["epoch_seconds"] = _disk_epoch(disk, loader)
        out["batches"] = len(loader)
        out["peak_rss_gb"] = _peak_rss_gb()
        return out
    start = time.perf_counter()
    graph = synthetic_dcsbm(
        num_nodes=args.nodes, num_edges=args.edges, num_features=args.features, num_classes=args.classes, seed=0
    )
    out["generate_seconds"] = time.perf_counter() - start
    out["edges_built"] = graph.num_edges
    train = graph.split(next(iter(graph.splits))).train if graph.splits else torch.ones(graph.num_nodes, dtype=bool)
    torch.manual_seed(0)
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


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["failed"])[-1]


def _run_ddp(args: argparse.Namespace, passthrough: list[str]) -> dict:
    """``ddp`` mode: the partitioned folder (prepared by its own process if missing), then ``--ranks`` ranks."""
    import socket

    out: dict = {"mode": "ddp", "nodes": args.nodes, "edges": args.edges, "features": args.features}
    if not (_workdir(args) / _parts_name(args) / "meta.json").is_file():
        child = subprocess.run(
            [sys.executable, __file__, "--mode=prepare", *passthrough], capture_output=True, text=True
        )
        if child.returncode != 0:
            return {
                **out,
                "error": (child.stderr.strip().splitlines() or ["failed"])[-1],
                "returncode": child.returncode,
            }
        out["prepare"] = json.loads(child.stdout.strip().splitlines()[-1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = _workdir(args) / "ddp"
    shutil.rmtree(log, ignore_errors=True)  # the ranks' stdout of this run only
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(args.ranks),
        "--master_addr", "127.0.0.1", "--master_port", str(port), "--log-dir", str(log), "--redirects", "1",
        __file__, "--mode=ddp-rank", *passthrough,
    ]  # fmt: skip
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode != 0:
        return {**out, "error": _last_line(child.stderr), "returncode": child.returncode}
    ranks = []
    for path in sorted(log.glob("*/attempt_0/*/stdout.log")):
        lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
        if lines:
            ranks.append(json.loads(lines[-1]))
    out["ranks"] = sorted(ranks, key=lambda r: r["rank"])
    out["peak_rss_gb"] = max(r["peak_rss_gb"] for r in ranks)
    out["epoch_seconds"] = max(r["epoch_seconds"] for r in ranks)
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
    parser.add_argument("--kway", action="store_true", help="METIS k-way instead of recursive bisection")
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="METIS on the training nodes' subgraph only (as the Cluster-GCN authors' code); others join a part",
    )
    parser.add_argument(
        "--metis-in-process", action="store_true", help="run METIS in the cluster process (default: a child process)"
    )
    parser.add_argument("--ranks", type=int, default=2, help="ddp mode: processes (default: 2)")
    parser.add_argument("--workdir", default=None, help="disk graph folders (default: <cache>/cluster-scale)")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "ddp-rank":
        result = run_ddp_rank(args)
        print(json.dumps(result))
        return 0
    if args.mode:
        print(json.dumps(run_mode(args)))
        return 0
    results = {}
    passthrough = [
        f"--{k.replace('_', '-')}={v}"
        for k, v in vars(args).items()
        if k in ("nodes", "edges", "features", "classes", "parts", "clusters_per_batch", "threads", "workdir")
        and v is not None
    ] + [f"--{flag.replace('_', '-')}" for flag in ("kway", "train_only", "metis_in_process") if getattr(args, flag)]
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if mode == "ddp":
            results[mode] = _run_ddp(args, passthrough)
            continue
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
        if mode == "ddp":
            rss = ", ".join(f"rank {x['rank']} {x['peak_rss_gb']:.2f} GB" for x in r["ranks"])
            print(f"ddp: {len(r['ranks'])} ranks, one epoch {r['epoch_seconds']:.1f} s, peak RSS {rss}")
            continue
        part = f", partition {r['partition_seconds']:.1f} s" if "partition_seconds" in r else ""
        print(
            f"{mode}: {r['nodes']:,} nodes, {r.get('edges_built', r['edges']):,} edges; "
            f"generate {r['generate_seconds']:.1f} s"
            f"{part}, one epoch {r['epoch_seconds']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
