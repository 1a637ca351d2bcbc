"""``graphsparse ticket eval|compact PATH --dataset NAME``: use a ticket saved by ``glt --save-tickets``.

- ``eval`` loads the ticket (``torch.load(weights_only=True)``), rebuilds the model and the task from its
  provenance (model name and options, training configuration, split, λ of distillation), applies the ticket to the
  graph and to the freshly built model at θ0 and retrains it as the search did (same seed, same weight rule: fixed
  masks, or TEDDY's l0 projection), then prints the test metric — on CPU the number the search reported for that
  seed and level.
- ``compact`` exports the compact model of a GCN ticket (:func:`graphsparse.sparsify.compact.compact_gcn`): the
  trained weights saved beside the ticket (``trained.pt``) or, when absent, those of a retraining, reduced to the
  units the sparse weights use. The output file loads with ``torch.load(weights_only=True)``: ``feature_index``,
  ``weights``, ``biases``, ``offsets`` (empty tensors where none), ``edge_keep_mask`` (the ticket's graph) and
  ``provenance``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_eval", "run_compact"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ticket",
        help="evaluate or compact a ticket saved by `glt --save-tickets`",
        description="Use a graph lottery ticket saved by `graphsparse glt --save-tickets DIR`.",
    )
    actions = p.add_subparsers(dest="ticket_command", metavar="{eval,compact}", required=True)
    ev = actions.add_parser(
        "eval",
        help="retrain the ticket from θ0 as the search did and print its test metric",
        description="Load a ticket, apply it to the dataset's graph and to a freshly built model at θ0, retrain it "
        "as the search did (same seed and weight rule) and print the test metric.",
    )
    _common(ev)
    ev.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ev.set_defaults(handler=run_eval)
    co = actions.add_parser(
        "compact",
        help="export the compact model of a GCN ticket",
        description="Export the smallest dense model computing the ticket's trained GCN (eval mode): unused input "
        "features and hidden units removed. Loads with torch.load(weights_only=True).",
    )
    _common(co)
    co.add_argument("--out", required=True, help="output file (.pt)")
    co.set_defaults(handler=run_compact)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="ticket file (DIR/<method>/round<k>/seed<s>/ticket.pt)")
    p.add_argument("--dataset", required=True, help="the dataset the ticket was found on")
    p.add_argument("--device", default="cpu", help="device (default: cpu; the search's numbers are reproduced on cpu)")


def _load(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """Ticket, graph, task and model factory from the ticket's provenance."""
    from ..data import load_dataset
    from ..sparsify import Ticket

    path = Path(args.path)
    if not path.is_file():
        raise ValueError(f"ticket file not found: {path}")
    ticket = Ticket.load(path)
    p = ticket.provenance
    missing = [k for k in ("model", "model_options", "task", "task_config", "seed", "seed_index") if k not in p]
    if missing:
        raise ValueError(
            f"{path}: the ticket's provenance lacks {', '.join(missing)}; only tickets saved by "
            "`graphsparse glt --save-tickets` can be rebuilt from their file"
        )
    graph = load_dataset(args.dataset)
    if p.get("dataset") not in (None, graph.name):
        raise ValueError(f"{path} was found on dataset {p['dataset']!r}, not {graph.name!r} (--dataset)")
    described = json.loads(p["task_config"])
    options = json.loads(p["model_options"])
    if p["task"] == "node":
        from ..nn import build_model
        from ..tasks.glt import NodeGLTTask
        from ..tasks.node import NodeTrainConfig

        config = NodeTrainConfig(**described["train"])
        batching = described.get("batching")
        if batching in ("cluster", "cluster-disk"):  # retrained on the batches the search trained it on
            from ..batching import ClusterConfig
            from ..batching.glt import ClusterGLTTask, DiskClusterGLTTask

            trainer = DiskClusterGLTTask if batching == "cluster-disk" else ClusterGLTTask
            task = trainer(graph, config, ClusterConfig(**described["cluster"]), described.get("split"))
        else:
            task = NodeGLTTask(graph, config, described.get("split"))

        def factory():
            return build_model(p["model"], graph.num_features, graph.num_classes, **options)

    elif p["task"] == "link":
        from ..nn.gae import build_link_model
        from ..tasks.link import LinkTrainConfig
        from ..tasks.link_glt import LinkGLTTask

        config = LinkTrainConfig(**described["train"])
        task = LinkGLTTask(graph, config, described.get("val", 0.05), described.get("test", 0.10))
        in_channels = graph.num_features if graph.x is not None else None

        def factory():
            return build_link_model(p["model"], in_channels, graph.num_nodes, **options)

    else:
        raise ValueError(f"{path}: unknown task {p['task']!r} in the ticket's provenance")
    return ticket, graph, task, factory


def _retrain(args: argparse.Namespace, ticket: Any, task: Any, factory: Any) -> tuple[dict[str, Any], Any]:
    from ..sparsify.search import retrain_ticket
    from ..utils import resolve_device

    return retrain_ticket(ticket, task, factory, device=resolve_device(args.device))


def run_eval(args: argparse.Namespace) -> None:
    """Retrain the ticket and print its test metric (and what the search reported)."""
    ticket, graph, task, factory = _load(args)
    result, _ = _retrain(args, ticket, task, factory)
    p = ticket.provenance
    out = {
        "ticket": str(args.path),
        "dataset": graph.name,
        "model": p["model"],
        "method": p.get("method"),
        "round": p.get("round"),
        "seed": p["seed"],
        "graph_sparsity": ticket.graph_sparsity,
        "weight_sparsity": p.get("weight_sparsity"),
        "metric": task.metric,
        "val": float(result["val"]),
        "test": float(result["test"]),
        "search_test": p.get("test"),
    }
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return
    print(
        f"{graph.name}/{p['model']} {p.get('method')} round {p.get('round')} seed {p['seed']}: graph sparsity "
        f"{100 * ticket.graph_sparsity:.2f}%, test {task.metric} {100 * out['test']:.2f}% "
        f"(val {100 * out['val']:.2f}%)"
    )
    if out["search_test"] is not None:
        print(f"search reported: test {task.metric} {100 * float(out['search_test']):.2f}%")


def run_compact(args: argparse.Namespace) -> None:
    """Export the compact model of a GCN ticket to ``--out``."""
    import torch

    from ..nn import GCN
    from ..sparsify.compact import compact_gcn
    from .preflight import check_distinct, check_output_file

    ticket_path = Path(args.path)
    beside = [("the ticket", ticket_path), ("its trained weights", ticket_path.parent / "trained.pt")]
    check_distinct([("--out", args.out)], beside)  # writing --out never overwrites what this command reads
    out_path = check_output_file(args.out, "--out")  # before any retraining
    ticket, graph, task, factory = _load(args)
    named = ticket.provenance.get("trained")
    if named:
        check_distinct([("--out", out_path)], [("its trained weights", ticket_path.parent / str(named))])
    model = factory()
    if not isinstance(model, GCN):
        raise ValueError(
            "ticket compact needs a graphsparse GCN (--model gcn); this ticket's model is "
            f"{ticket.provenance['model']!r}"
        )
    trained = Path(args.path).parent / str(ticket.provenance.get("trained") or "trained.pt")
    if ticket.provenance.get("trained") and trained.is_file():
        model.load_state_dict(torch.load(trained, weights_only=True, map_location="cpu"))
        source = f"trained weights {trained}"
    else:
        _, model = _retrain(args, ticket, task, factory)
        source = "retrained from θ0"
    model = model.cpu().eval()
    compact = compact_gcn(model)
    pruned = ticket.apply_to_graph(
        task.graph_for_seed(int(ticket.provenance["seed_index"]), int(ticket.provenance["seed"]))
    )
    with torch.no_grad():
        error = float((compact(pruned) - model(pruned)).abs().max()) if pruned.x is not None else 0.0
    payload = {
        "format": "graphsparse.compact_gcn",
        "version": 1,
        "feature_index": compact.feature_index.clone(),
        "weights": [w.detach().clone() for w in compact.weights],
        "biases": [b.detach().clone() for b in compact.biases],
        "offsets": [torch.empty(0) if o is None else o.detach().clone() for o in compact.offsets],
        "edge_keep_mask": ticket.edge_keep_mask.clone(),
        "provenance": dict(ticket.provenance),
    }
    torch.save(payload, out_path)
    print(
        f"compact GCN ({source}): widths {compact.widths}, max |logit difference| {error:.2e}; written to {out_path}",
        file=sys.stdout,
    )
