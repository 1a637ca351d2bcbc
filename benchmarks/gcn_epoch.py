"""Full-batch 2-layer GCN epoch time: graphsparse's GCN against PyG's GCNConv.

Three implementations of the same model (dropout -> GCNConv -> ReLU -> dropout -> GCNConv, hidden 16 by default)
on identical graphs, weights and torch thread count:

* ``graphsparse``: :class:`graphsparse.nn.GCN` (CSR SpMM on the cached normalised operator);
* ``pyg_edge_index``: ``torch_geometric.nn.GCNConv(cached=True)`` on ``edge_index`` (without torch-sparse PyG
  propagates with gather/scatter; ``cached=True`` computes the normalisation once, as graphsparse does);
* ``pyg_csr``: ``GCNConv(normalize=False)`` on a pre-normalised ``torch.sparse_csr_tensor`` adjacency (PyG
  multiplies it with ``torch.sparse.mm``).

One timed epoch is: ``zero_grad``, forward (training mode, dropout on), cross-entropy over all labelled nodes,
backward and an Adam step (the step is included). Normalisation is built before timing and is not part of an
epoch. After warm-up epochs, each repeat runs one epoch of every implementation in a shuffled order (so load from
other processes hits all three alike) and the median per implementation is reported. Before timing, the three
forwards (eval mode, identical weights) are checked to agree.

Threads follow the project's thread policy (:mod:`graphsparse.threads`) unless ``--threads N`` is given: before
torch is imported, the wait policy of :func:`graphsparse.threads.choose_wait_policy` (``OMP_WAIT_POLICY=PASSIVE``,
OpenMP threads that sleep instead of spinning while they wait, when other processes keep the machine busy; kept
as the caller set it if ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set), and per graph the intra-op thread count is
``--threads``, else ``$OMP_NUM_THREADS``, else the policy's choice for the graph's size and the cores free just
before it is timed (one thread on a 2-core machine beside two busy processes). The JSON records the count, where
it came from and the wait policy.

Usage::

    python benchmarks/gcn_epoch.py                         # pubmed and the 200k-node synthetic graph
    python benchmarks/gcn_epoch.py --graphs pubmed --repeats 50 --threads 1
    python benchmarks/gcn_epoch.py --quick --json           # small synthetic graph, one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graphsparse.threads import choose_wait_policy  # noqa: E402  (imports no torch)

WAIT_POLICY_APPLIED = choose_wait_policy(os.environ)  # before torch is imported: its OpenMP runtime reads it once

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _timing import interleaved_times  # noqa: E402
from torch import nn  # noqa: E402

from graphsparse.config import omp_threads  # noqa: E402
from graphsparse.data import load_dataset  # noqa: E402
from graphsparse.graph import Graph  # noqa: E402
from graphsparse.nn import GCN  # noqa: E402
from graphsparse.sparse import normalized_adjacency  # noqa: E402
from graphsparse.threads import (  # noqa: E402
    SPIN_COUNT_ENV,
    WAIT_POLICY_ENV,
    apply_threads,
    check_threads,
    graph_work,
    resolve_threads,
)

IMPLEMENTATIONS = ("graphsparse", "pyg_edge_index", "pyg_csr")
SYNTHETIC = {"num_nodes": 200_000, "num_edges": 2_000_000, "num_features": 128, "num_classes": 4, "seed": 0}
QUICK_SYNTHETIC = {"num_nodes": 2_000, "num_edges": 10_000, "num_features": 32, "num_classes": 4, "seed": 0}


class PyGGCN(nn.Module):
    """The same 2-layer GCN built from PyG's ``GCNConv``; ``adjacency`` is ``edge_index`` or a sparse tensor."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, dropout: float, normalize: bool) -> None:
        super().__init__()
        from torch_geometric.nn import GCNConv

        self.conv1 = GCNConv(in_channels, hidden, cached=True, normalize=normalize)
        self.conv2 = GCNConv(hidden, out_channels, cached=True, normalize=normalize)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, adjacency))
        x = F.dropout(x, self.dropout, self.training)
        return self.conv2(x, adjacency)


def copy_weights(ours: GCN, theirs: PyGGCN) -> None:
    """Give ``theirs`` the weights of ``ours`` (PyG's ``lin.weight`` is ``[out, in]``, ours is ``[in, out]``)."""
    with torch.no_grad():
        for mine, conv in zip(ours.convs, (theirs.conv1, theirs.conv2)):
            conv.lin.weight.copy_(mine.weight.t())
            conv.bias.copy_(mine.bias)


def load_graph(name: str, quick: bool) -> Graph:
    if name == "synthetic":
        return load_dataset("synthetic", **(QUICK_SYNTHETIC if quick else SYNTHETIC))
    return load_dataset(name)


def build(
    graph: Graph, hidden: int, dropout: float, lr: float, sparse_features: bool = False
) -> dict[str, Callable[[], None]]:
    """One closure per implementation that runs a training epoch; checks the three forwards agree first.

    ``sparse_features``: ours multiplies ``x`` as CSR (the GLT ``--preset teddy`` setting); PyG gets it dense.
    """
    x, y = graph.x, graph.y
    ours_x = x.to_sparse_csr() if sparse_features else x
    n, classes = graph.num_nodes, graph.num_classes
    ours = GCN(graph.num_features, hidden, classes, num_layers=2, dropout=dropout)
    pyg_ei = PyGGCN(graph.num_features, hidden, classes, dropout, normalize=True)
    pyg_csr = PyGGCN(graph.num_features, hidden, classes, dropout, normalize=False)
    copy_weights(ours, pyg_ei)
    copy_weights(ours, pyg_csr)
    edge_index = graph.edge_index
    with warnings.catch_warnings():  # torch warns that invariant checks are off; the operator is valid CSR
        warnings.simplefilter("ignore", UserWarning)
        csr = normalized_adjacency(graph).to_torch_csr()  # D^-1/2 (A + I) D^-1/2, symmetric so adj == adj_t

    runs: dict[str, Callable[[], torch.Tensor]] = {
        "graphsparse": lambda: ours(graph, ours_x),
        "pyg_edge_index": lambda: pyg_ei(x, edge_index),
        "pyg_csr": lambda: pyg_csr(x, csr),
    }
    models = {"graphsparse": ours, "pyg_edge_index": pyg_ei, "pyg_csr": pyg_csr}

    # Same function: eval-mode forwards with identical weights agree (this also fills every cache).
    with torch.no_grad():
        outs = {}
        for name, model in models.items():
            model.eval()
            outs[name] = runs[name]()
            model.train()
    scale = float(outs["graphsparse"].abs().max()) + 1e-12
    for name in IMPLEMENTATIONS[1:]:
        err = float((outs[name] - outs["graphsparse"]).abs().max())
        if outs[name].shape != (n, classes) or err > 1e-4 * max(1.0, scale):
            raise AssertionError(f"{name} disagrees with graphsparse on {graph.name}: max abs diff {err:.3g}")

    epochs: dict[str, Callable[[], None]] = {}
    for name, model in models.items():
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)

        def epoch(model: nn.Module = model, optimizer: torch.optim.Optimizer = optimizer, name: str = name) -> None:
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(runs[name](), y)
            loss.backward()
            optimizer.step()

        epochs[name] = epoch
    return epochs


def time_graph(graph: Graph, args: argparse.Namespace) -> dict[str, float | int | str | None]:
    # --threads, else $OMP_NUM_THREADS, else the policy for this graph and the load just before it is timed
    choice = apply_threads(resolve_threads(args.threads, omp_threads(), graph_work(graph.num_nodes, graph.num_edges)))
    torch.manual_seed(args.seed)
    epochs = build(graph, args.hidden, args.dropout, args.lr, args.sparse_features)
    times = interleaved_times({name: epochs[name] for name in IMPLEMENTATIONS}, args.repeats, args.warmup, args.seed)
    median = {name: statistics.median(values) for name, values in times.items()}
    row: dict[str, float | int | str | None] = {
        "num_nodes": graph.num_nodes,
        "num_edges": graph.num_edges,
        "num_features": graph.num_features,
        "num_classes": graph.num_classes,
        "threads": torch.get_num_threads(),
        "threads_source": choice.source,
        "threads_reason": choice.reason,
        "busy_cores": choice.busy,
    }
    row.update({f"{name}_s": median[name] for name in IMPLEMENTATIONS})
    row.update({f"{name}_min_s": min(times[name]) for name in IMPLEMENTATIONS})  # less noisy on a busy machine
    row["ratio_vs_pyg_edge_index"] = median["graphsparse"] / median["pyg_edge_index"]
    row["ratio_vs_pyg_csr"] = median["graphsparse"] / median["pyg_csr"]
    # process-wide high-water mark (all three models together), in MiB; Linux reports ru_maxrss in KiB
    row["process_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Threads: the project's thread policy (graphsparse.threads) unless --threads is given. "
        "OMP_WAIT_POLICY=PASSIVE is set before torch is imported when the machine is busy, unless OMP_WAIT_POLICY or "
        "GOMP_SPINCOUNT is set.",
    )
    parser.add_argument("--graphs", default="pubmed,synthetic", help="comma-separated: pubmed, synthetic, ...")
    parser.add_argument("--repeats", type=int, default=20, help="timed epochs per implementation (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed epochs per implementation first")
    parser.add_argument(
        "--threads",
        default=None,
        metavar="N",
        help="torch intra-op threads for all three (default: $OMP_NUM_THREADS if set, else the thread policy of "
        "graphsparse.threads per graph: one thread for tiny graphs, else the cores free just before timing; "
        f"torch's own default here is {torch.get_num_threads()})",
    )
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument(
        "--sparse-features",
        action="store_true",
        help="ours takes x as CSR (as the GLT --preset teddy runs do); PyG keeps it dense",
    )
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small synthetic graph only, few repeats (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.quick:
        args.graphs, args.repeats, args.warmup = "synthetic", min(args.repeats, 3), 1
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be >= 1 and --warmup >= 0")
    if args.threads is not None:
        try:
            args.threads = check_threads(args.threads)
        except ValueError as err:
            parser.error(str(err))
    args.graphs = [g.strip() for g in args.graphs.split(",") if g.strip()]
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    result = {
        "config": {
            "threads": args.threads,  # None: each graph's row says what the policy chose
            "threads_policy": args.threads is None and omp_threads() is None,
            "omp_wait_policy": os.environ.get(WAIT_POLICY_ENV),
            "gomp_spincount": os.environ.get(SPIN_COUNT_ENV),
            "wait_policy_applied": WAIT_POLICY_APPLIED,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "hidden": args.hidden,
            "dropout": args.dropout,
            "sparse_features": args.sparse_features,
            "adam_step_included": True,
            "quick": args.quick,
            "torch": torch.__version__,
            "torch_geometric": __import__("torch_geometric").__version__,
        },
        "graphs": {},
    }
    for name in args.graphs:
        result["graphs"][name] = time_graph(load_graph(name, args.quick), args)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    return result


def format_table(result: dict) -> str:
    cfg = result["config"]
    features = ", ours on CSR x" if cfg.get("sparse_features") else ""
    lines = [
        f"2-layer GCN (hidden {cfg['hidden']}{features}), fwd+bwd+Adam epoch, median of {cfg['repeats']}, "
        f"threads {'--threads' if cfg['threads'] else 'per graph (policy or $OMP_NUM_THREADS)'}, "
        f"OMP_WAIT_POLICY {cfg.get('omp_wait_policy') or 'unset'}, torch {cfg['torch']}, PyG {cfg['torch_geometric']}",
        f"{'graph':<10} {'nodes':>8} {'edges':>9} {'feat':>5} {'thr':>3} {'ours ms':>9} {'pyg ei ms':>10} "
        f"{'pyg csr ms':>11} {'ours/ei':>8} {'ours/csr':>9} {'peak MiB':>9}",
    ]
    for name, row in result["graphs"].items():
        lines.append(
            f"{name:<10} {row['num_nodes']:>8} {row['num_edges']:>9} {row['num_features']:>5} "
            f"{row.get('threads', cfg['threads']):>3} "
            f"{1e3 * row['graphsparse_s']:>9.2f} {1e3 * row['pyg_edge_index_s']:>10.2f} "
            f"{1e3 * row['pyg_csr_s']:>11.2f} {row['ratio_vs_pyg_edge_index']:>8.2f} "
            f"{row['ratio_vs_pyg_csr']:>9.2f} {row['process_peak_rss_mib']:>9.0f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
