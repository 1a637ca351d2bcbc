"""Full-batch epoch time of TWIRLS (S = 40 propagation steps, PubMed preset) next to a 2-layer GCN.

Both models are built from their ``--preset paper`` options on the same graph (row-normalised features) with the
same torch thread count: TWIRLS = input dropout 0.8 -> linear (500 -> 3) -> 40 symmetrised preconditioned steps
(λ = 1, α = 1, the authors' PubMed command); GCN = Kipf & Welling (hidden 16). An epoch is ``zero_grad`` +
forward (train mode) + cross-entropy on the training nodes + backward + Adam step; an eval forward is timed
separately. The propagation operator (``B^-1/2 Â B^-1/2`` and ``B``) is built once and cached on the graph, as in
training; ``--no-cache`` rebuilds it every epoch to show what the cache saves. After ``--warmup`` epochs each of
``--repeats`` rounds times one epoch of every model in a shuffled order; medians (and minima) are reported.

Usage::

    python benchmarks/twirls_epoch.py                     # pubmed, S = 40, 1 thread
    python benchmarks/twirls_epoch.py --steps 40 --repeats 30 --json
    python benchmarks/twirls_epoch.py --quick --json      # Cora, few repeats (smoke test)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from graphsparse.data import load_dataset  # noqa: E402
from graphsparse.graph import Graph  # noqa: E402
from graphsparse.nn import build_model  # noqa: E402
from graphsparse.presets import resolve_preset  # noqa: E402
from graphsparse.tasks.node import row_normalize_features  # noqa: E402


def _models(graph: Graph, steps: int) -> dict[str, torch.nn.Module]:
    twirls = resolve_preset("twirls", graph.name, "paper")["model"]
    twirls["steps"] = steps
    gcn = resolve_preset("gcn", graph.name, "paper")["model"]
    return {
        f"twirls_s{steps}": build_model("twirls", graph.num_features, graph.num_classes, **twirls),
        "gcn": build_model("gcn", graph.num_features, graph.num_classes, **gcn),
    }


def _epoch_fn(model: torch.nn.Module, graph: Graph, train_idx: torch.Tensor, no_cache: bool) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def epoch() -> None:
        if no_cache:
            graph._clear_cached()
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(graph)[train_idx], graph.y[train_idx])
        loss.backward()
        opt.step()

    return epoch


def _eval_fn(model: torch.nn.Module, graph: Graph) -> Callable[[], None]:
    def forward() -> None:
        model.eval()
        with torch.no_grad():
            model(graph)

    return forward


def benchmark(dataset: str, steps: int, repeats: int, warmup: int, threads: int, no_cache: bool) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    graph = row_normalize_features(load_dataset(dataset))
    split = graph.split("public") if "public" in graph.splits else graph.split(next(iter(graph.splits)))
    train_idx = split.index("train")
    models = _models(graph, steps)
    fns: dict[str, Callable[[], None]] = {}
    for name, model in models.items():
        fns[f"{name}_epoch"] = _epoch_fn(model, graph, train_idx, no_cache)
        fns[f"{name}_eval"] = _eval_fn(model, graph)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns)
    rng = random.Random(0)
    for _ in range(repeats):
        rng.shuffle(order)
        for name in order:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    result = {
        "dataset": graph.name,
        "nodes": graph.num_nodes,
        "edges": graph.num_edges,
        "steps": steps,
        "threads": threads,
        "repeats": repeats,
        "operator_cache": not no_cache,
        "torch": torch.__version__,
    }
    for name, values in times.items():
        result[f"{name}_median_ms"] = 1000 * statistics.median(values)
        result[f"{name}_min_ms"] = 1000 * min(values)
    key = f"twirls_s{steps}"
    result["twirls_over_gcn_epoch"] = result[f"{key}_epoch_median_ms"] / result["gcn_epoch_median_ms"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="pubmed")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-cache", action="store_true", help="rebuild the propagation operator every epoch")
    parser.add_argument("--quick", action="store_true", help="cora, 3 repeats, 1 warm-up (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1:
        raise ValueError(f"--repeats and --steps must be >= 1, got {args.repeats}, {args.steps}")
    if args.quick:
        args.dataset, args.repeats, args.warmup = "cora", 3, 1
    result = benchmark(args.dataset, args.steps, args.repeats, args.warmup, args.threads, args.no_cache)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:<32} {value:.2f}" if isinstance(value, float) else f"{key:<32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
