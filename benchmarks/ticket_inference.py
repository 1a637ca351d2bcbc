"""Inference time of a graph lottery ticket against the dense GCN it came from: is sparsity seconds saved?

For each graph a 2-layer GCN is trained twice from the same initialisation:

* **dense**: all edges, all weights;
* **ticket**: TEDDY (Seo et al., ICLR 2024) one-shot at GLT level 20: 64% of the undirected edges removed
  by TEDDY's degree scores (the graph really shrinks), weights projected onto the l0 ball of 98.8% sparsity
  after every optimizer step: over all weight matrices together (``--weight-scope global``, TEDDY's
  projection) or per matrix (``--weight-scope layer``). Global projection can empty a whole layer when its
  initial weights are smaller than the next layer's (on the 128-feature synthetic graph it keeps none of the
  first layer: the ticket then predicts from biases); the report shows the kept widths so this is visible.

Then eval-mode full-graph inference (one forward, no autograd) is timed, medians over interleaved repeats:

* ``dense_s``: the dense model on the full graph;
* ``ticket_masked_s``: the ticket as a masked dense model on the pruned graph (only the graph sparsity pays);
* ``ticket_compact_s``: :func:`graphsparse.sparsify.compact.compact_gcn` of the ticket on the pruned graph:
  unread input features, unused and constant hidden units dropped exactly, so weight sparsity pays too. The
  ticket's input is the feature columns it reads (``CompactGCN.select_features``, prepared once per graph, as
  a deployed ticket would store only those);
* ``ticket_compact_select_s``: the same, selecting those columns from the full ``x`` on every call.

``speedup`` is ``dense_s / ticket_compact_s``. Before timing, the compact model's logits are checked against
the masked model's. Accuracy of both models on the graph's split is reported beside the times.

Usage::

    python benchmarks/ticket_inference.py                       # pubmed and the 200k-node synthetic graph
    python benchmarks/ticket_inference.py --graphs pubmed --json
    python benchmarks/ticket_inference.py --quick --json         # small synthetic graph (smoke test)
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved_times  # noqa: E402
from gcn_epoch import load_graph  # noqa: E402

from graphsparse.graph import Graph  # noqa: E402
from graphsparse.nn import GCN  # noqa: E402
from graphsparse.sparsify.compact import compact_gcn  # noqa: E402
from graphsparse.sparsify.edges import edge_keep_mask, teddy_edge_scores  # noqa: E402
from graphsparse.sparsify.weights import l0_projection, prunable_parameters, weight_sparsity  # noqa: E402
from graphsparse.tasks.node import NodeTrainConfig, split_for_seed, train_node  # noqa: E402

VARIANTS = ("dense", "ticket_masked", "ticket_compact", "ticket_compact_select")


@torch.no_grad()
def layerwise_l0_projection(model: torch.nn.Module, sparsity: float) -> None:
    """Keep the largest-magnitude ``1 - sparsity`` fraction of each weight matrix (at least one), zero the rest."""
    for param in prunable_parameters(model).values():
        keep = max(1, param.numel() - round(sparsity * param.numel()))
        threshold_index = param.abs().flatten().topk(keep).indices
        mask = torch.zeros(param.numel(), dtype=torch.bool, device=param.device)
        mask[threshold_index] = True
        param.masked_fill_(~mask.view_as(param), 0.0)


def make_ticket(graph: Graph, args: argparse.Namespace) -> dict:
    """Train the dense model and the TEDDY ticket from one θ0; return both models and the pruned graph."""
    split_name, split = split_for_seed(graph, 0, None)
    config = NodeTrainConfig(epochs=args.epochs, patience=None)
    torch.manual_seed(args.seed)
    dense = GCN(graph.num_features, args.hidden, graph.num_classes)
    theta0 = {k: v.clone() for k, v in dense.state_dict().items()}
    dense_run = train_node(graph, dense, split, config, seed=args.seed, split_name=split_name)
    dense.load_state_dict(dense_run.best_state)

    keep = edge_keep_mask(teddy_edge_scores(graph), args.graph_sparsity)
    pruned = graph.keep_edges(keep)
    ticket = GCN(graph.num_features, args.hidden, graph.num_classes)
    ticket.load_state_dict(theta0)
    if args.weight_scope == "global":
        project = functools.partial(l0_projection, sparsity=args.weight_sparsity)
    else:
        project = functools.partial(layerwise_l0_projection, sparsity=args.weight_sparsity)
    project(ticket)
    ticket_run = train_node(pruned, ticket, split, config, after_step=project, seed=args.seed, split_name=split_name)
    ticket.load_state_dict(ticket_run.best_state)
    project(ticket)  # the kept state is already projected; this makes the sparsity exact whatever the epoch
    return {
        "dense": dense,
        "ticket": ticket,
        "pruned": pruned,
        "dense_test_acc": dense_run.test_acc,
        "ticket_test_acc": ticket_run.test_acc,
    }


def time_graph(graph: Graph, args: argparse.Namespace) -> dict:
    made = make_ticket(graph, args)
    dense, ticket, pruned = made["dense"], made["ticket"], made["pruned"]
    dense.eval()
    ticket.eval()
    compact = compact_gcn(ticket)
    features_t = compact.select_features(pruned.x)
    with torch.no_grad():
        runs = {
            "dense": lambda: dense(graph),
            "ticket_masked": lambda: ticket(pruned),
            "ticket_compact": lambda: compact(pruned, features_t=features_t),
            "ticket_compact_select": lambda: compact(pruned),
        }
        masked_out, compact_out = runs["ticket_masked"](), runs["ticket_compact"]()
        err = float((masked_out - compact_out).abs().max())
        if err > 1e-4 * max(1.0, float(masked_out.abs().max())):
            raise AssertionError(f"compact ticket disagrees with the masked ticket on {graph.name}: {err:.3g}")
        times = interleaved_times(runs, args.repeats, args.warmup, args.seed)
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "num_nodes": graph.num_nodes,
        "num_edges": graph.num_edges,
        "num_features": graph.num_features,
        "ticket_edges": pruned.num_edges,
        "graph_sparsity": 1.0 - pruned.num_edges / graph.num_edges,
        "weight_sparsity": weight_sparsity(ticket),
        "compact_widths": compact.widths,
        "dense_widths": [graph.num_features, args.hidden, graph.num_classes],
        **{f"{name}_s": median[name] for name in VARIANTS},
        "speedup": median["dense"] / median["ticket_compact"],
        "speedup_graph_only": median["dense"] / median["ticket_masked"],
        "speedup_with_selection": median["dense"] / median["ticket_compact_select"],
        "dense_test_acc": made["dense_test_acc"],
        "ticket_test_acc": made["ticket_test_acc"],
        "max_abs_diff_compact_vs_masked": err,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", default="pubmed,synthetic", help="comma-separated: pubmed, synthetic, cora, ...")
    parser.add_argument("--graph-sparsity", type=float, default=0.64, help="fraction of edges removed (0.64)")
    parser.add_argument("--weight-sparsity", type=float, default=0.988, help="fraction of weights zeroed (0.988)")
    parser.add_argument(
        "--weight-scope",
        choices=["global", "layer"],
        default="global",
        help="l0 projection over all weight matrices together (TEDDY) or per matrix",
    )
    parser.add_argument("--epochs", type=int, default=100, help="training epochs for the dense model and ticket")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20, help="timed inferences per variant (median)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads for all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small synthetic graph, few epochs (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.quick:
        args.graphs, args.epochs, args.repeats, args.warmup = "synthetic", min(args.epochs, 5), min(args.repeats, 3), 1
    if args.repeats < 1 or args.epochs < 1 or args.threads < 1 or args.warmup < 0:
        parser.error("--repeats, --epochs and --threads must be >= 1 and --warmup >= 0")
    for name in ("graph_sparsity", "weight_sparsity"):
        if not 0.0 <= getattr(args, name) < 1.0:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1), got {getattr(args, name)}")
    args.graphs = [g.strip() for g in args.graphs.split(",") if g.strip()]
    return args


def format_table(result: dict) -> str:
    cfg = result["config"]
    lines = [
        f"GCN inference (hidden {cfg['hidden']}), median of {cfg['repeats']}, {cfg['threads']} thread(s); ticket: "
        f"TEDDY {100 * cfg['graph_sparsity']:.1f}% edges / {100 * cfg['weight_sparsity']:.1f}% weights removed "
        f"({cfg['weight_scope']} l0 projection)",
        f"{'graph':<10} {'dense ms':>9} {'masked ms':>10} {'compact ms':>11} {'speedup':>8} {'+select':>8} "
        f"{'graph-only':>10} {'widths':>16} {'dense acc':>9} {'ticket acc':>10}",
    ]
    for name, row in result["graphs"].items():
        widths = "-".join(map(str, row["compact_widths"]))
        lines.append(
            f"{name:<10} {1e3 * row['dense_s']:>9.2f} {1e3 * row['ticket_masked_s']:>10.2f} "
            f"{1e3 * row['ticket_compact_s']:>11.2f} {row['speedup']:>7.2f}x {row['speedup_with_selection']:>7.2f}x "
            f"{row['speedup_graph_only']:>9.2f}x "
            f"{widths:>16} {100 * row['dense_test_acc']:>9.2f} {100 * row['ticket_test_acc']:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {
        "config": {
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "hidden": args.hidden,
            "epochs": args.epochs,
            "graph_sparsity": args.graph_sparsity,
            "weight_sparsity": args.weight_sparsity,
            "weight_scope": args.weight_scope,
            "seed": args.seed,
            "quick": args.quick,
            "torch": torch.__version__,
        },
        "graphs": {},
    }
    for name in args.graphs:
        result["graphs"][name] = time_graph(load_graph(name, args.quick), args)
    print(json.dumps(result) if args.json else format_table(result))
    return result


if __name__ == "__main__":
    main()
