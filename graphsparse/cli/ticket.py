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
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run_eval", "run_compact"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``ticket`` subcommand and its ``eval`` and ``compact`` actions to the ``graphsparse`` parser.

    Args:
        sub: the ``graphsparse`` parser's subparsers.
    """
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
    p.add_argument("--dataset", default=None, help="the dataset the ticket was found on (or --disk FOLDER)")
    p.add_argument(
        "--disk",
        default=None,
        metavar="FOLDER",
        help="the disk graph folder a `glt --disk FOLDER` search found the ticket on (instead of --dataset)",
    )
    p.add_argument("--device", default="cpu", help="device (default: cpu; the search's numbers are reproduced on cpu)")


_WIDTH_MAX = 1 << 16  # channels, embedding sizes: far beyond any published setting, small enough to allocate
_DEPTH_MAX = 64  # layers, propagation steps
_DEPTH_OPTIONS = ("num_layers", "layers", "steps", "heads", "K", "k")
_OPTION_TYPES = (bool, int, float, str, type(None))


def _check_same_graph(path: Path, provenance: dict[str, Any], graph: Any, flag: str) -> None:
    """Refuse a graph other than the one the search ran on: same name and size, other content.

    The search's store key (``provenance['key']``) names the graph's content fingerprint (``|data=...|``); two
    folders of one generator share a name ("synthetic") and their sizes, so the name alone proves nothing.
    """
    found = re.search(r"\|data=([0-9a-f]+)\|", str(provenance.get("key", "")))
    if found is None:  # a ticket saved before keys named the data, or built by hand: the name check stands
        return
    if not graph.fingerprint().startswith(found.group(1)):
        raise ValueError(
            f"{path} was found on another graph than {flag} {graph.name!r} gives (same name, other content: "
            f"fingerprint {graph.fingerprint()[: len(found.group(1))]} against the search's {found.group(1)})"
        )


def _json_field(path: Path, provenance: dict[str, Any], name: str) -> dict[str, Any]:
    """A provenance field holding a JSON object (as ``glt --save-tickets`` writes it)."""
    text = provenance[name]
    if not isinstance(text, str):
        raise ValueError(f"{path}: provenance {name!r} must be a JSON object in a string, got {type(text).__name__}")
    try:
        value = json.loads(text, parse_constant=lambda token: float("nan"))
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"{path}: provenance {name!r} is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: provenance {name!r} must be a JSON object, got {type(value).__name__}")
    return value


def _check_model_options(path: Path, model: str, options: dict[str, Any], factory: Any, skip: int) -> None:
    """Check that every model option read from a ticket is one the model takes, of a plain type and within bounds.

    Widths and depths are bounded before anything is allocated.
    """
    import inspect

    from ..validation import check_int, check_probability

    try:
        parameters = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        parameters = []
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters)
    for key, value in options.items():
        where = f"{path}: provenance model_options[{key!r}]"
        if not open_ended and key not in names:
            raise ValueError(f"{where}: model {model!r} takes no option {key!r} (it takes {', '.join(sorted(names))})")
        if not isinstance(value, _OPTION_TYPES) and not (
            isinstance(value, list) and all(isinstance(v, _OPTION_TYPES) for v in value)
        ):
            raise ValueError(f"{where} must be a number, string, boolean or null, got {type(value).__name__}")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or item is None or isinstance(item, str):
                continue
            if "dropout" in key:
                check_probability(where, item)
            elif key in _DEPTH_OPTIONS:
                check_int(where, item, 0, _DEPTH_MAX)
            elif isinstance(item, int):
                check_int(where, item, -_WIDTH_MAX, _WIDTH_MAX)
            else:
                from ..validation import check_float

                check_float(where, item)


def _check_shapes(path: Path, ticket: Any, factory: Any) -> None:
    """Check that the model the provenance describes has exactly the parameters and shapes of the ticket's θ0.

    The model is built without memory (on torch's meta device): a width in the file that does not match is refused
    before the real model is allocated.
    """
    import torch

    try:
        with torch.device("meta"):
            shaped = factory()
    except (NotImplementedError, RuntimeError):  # a model that cannot be built on meta: checked when applied
        return
    own = {name: tuple(t.shape) for name, t in shaped.state_dict().items()}
    theirs = {name: tuple(t.shape) for name, t in ticket.init_state.items()}
    missing, unexpected = sorted(set(own) - set(theirs)), sorted(set(theirs) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"{path}: the ticket's θ0 does not fit the model its provenance describes (missing "
            f"{', '.join(missing[:3]) or 'none'}; unexpected {', '.join(unexpected[:3]) or 'none'}): the file was "
            "edited, or --dataset is not the one it was found on"
        )
    for name, shape in theirs.items():
        if own[name] != shape:
            raise ValueError(
                f"{path}: the ticket's θ0 {name!r} has shape {list(shape)}, the model its provenance describes "
                f"{list(own[name])}: the file was edited, or --dataset is not the one it was found on"
            )


def _load(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """Ticket, graph, task and model factory from the ticket's provenance.

    Every value read from the file is checked (types, ranges, widths before allocation) and unknown values are
    refused, never defaulted.
    """
    from ..data import load_dataset
    from ..sparsify import Ticket
    from ..validation import check_choice, check_int, check_probability

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
    check_choice(f"{path}: provenance 'task'", p["task"], ("node", "link"))
    check_int(f"{path}: provenance 'seed'", p["seed"], 0, 2**63 - 1)
    check_int(f"{path}: provenance 'seed_index'", p["seed_index"], 0, 1 << 20)
    for name in ("dataset", "split", "trained", "method", "preset"):
        if not isinstance(p.get(name), (str, type(None))):
            raise ValueError(f"{path}: provenance {name!r} must be a string or null, got {p[name]!r}")
    rule = p.get("weight_rule", "masks")
    check_choice(f"{path}: provenance 'weight_rule'", rule, ("masks", "l0", "none"))
    if rule == "l0":
        check_probability(f"{path}: provenance 'target_weight_sparsity'", p.get("target_weight_sparsity"))
    if not isinstance(p["model"], str):
        raise ValueError(f"{path}: provenance 'model' must be a model name, got {p['model']!r}")
    described = _json_field(path, p, "task_config")
    options = _json_field(path, p, "model_options")
    if p["task"] == "node":
        from ..nn import MODELS

        check_choice(f"{path}: provenance 'model'", p["model"], sorted(MODELS))
        _check_model_options(path, p["model"], options, MODELS[p["model"]], 2)
    else:
        from ..nn.gae import build_link_model

        _check_model_options(path, p["model"], options, build_link_model, 3)
    train = described.get("train")
    if not isinstance(train, dict):
        raise ValueError(f"{path}: provenance task_config has no 'train' object")
    if (args.dataset is None) == (args.disk is None):
        raise ValueError("give the graph the ticket was found on: --dataset NAME or --disk FOLDER (one of them)")
    if args.disk is not None:
        from ..data.diskview import DiskGLTGraph

        graph = DiskGLTGraph(args.disk)
    else:
        graph = load_dataset(args.dataset)
    if p.get("dataset") not in (None, graph.name):
        flag = "--disk" if args.disk is not None else "--dataset"
        raise ValueError(f"{path} was found on dataset {p['dataset']!r}, not {graph.name!r} ({flag})")

    def configured(kind: Any, values: Any, field: str) -> Any:
        if not isinstance(values, dict):
            raise ValueError(f"{path}: provenance task_config[{field!r}] must be an object, got {values!r}")
        try:
            return kind(**values)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: provenance task_config[{field!r}]: {err}") from None

    searched: Any = graph  # the graph whose fingerprint the search's store keys hold
    if p["task"] == "node":
        from ..nn import build_model
        from ..tasks.glt import NodeGLTTask
        from ..tasks.node import NodeTrainConfig

        config = configured(NodeTrainConfig, train, "train")
        batching = described.get("batching", "full")
        check_choice(f"{path}: provenance task_config 'batching'", batching, ("full", "cluster", "cluster-disk", None))
        split = described.get("split")
        if not isinstance(split, (str, type(None))):
            raise ValueError(f"{path}: provenance task_config 'split' must be a split name, got {split!r}")
        if args.disk is not None and batching != "cluster-disk":
            raise ValueError(f"{path} was not found by a search on a disk graph (batching {batching!r}); use --dataset")
        if batching in ("cluster", "cluster-disk"):  # retrained on the batches the search trained it on
            from ..batching import ClusterConfig

            cluster = configured(ClusterConfig, described.get("cluster"), "cluster")
            if batching == "cluster-disk":
                from ..batching.disk_glt import DiskClusterGLTTask

                eval_q = check_int(
                    f"{path}: provenance task_config 'eval_clusters_per_batch'",
                    described.get("eval_clusters_per_batch", cluster.clusters_per_batch),
                    1,
                    cluster.num_parts,
                )
                source = graph.folder if args.disk is not None else graph
                task = DiskClusterGLTTask(source, config, cluster, split, eval_clusters_per_batch=eval_q)
                searched = task.graph_for_seed(0, 0)  # the part-ordered folder the search keyed its levels by
            else:
                from ..batching.glt import ClusterGLTTask

                task = ClusterGLTTask(graph, config, cluster, split)
        else:
            task = NodeGLTTask(graph, config, split)

        def factory():
            return build_model(p["model"], graph.num_features, graph.num_classes, **options)

    else:
        from ..nn.gae import build_link_model
        from ..tasks.link import LinkTrainConfig
        from ..tasks.link_glt import LinkGLTTask

        config = configured(LinkTrainConfig, train, "train")
        fractions = [
            check_probability(f"{path}: provenance task_config[{k!r}]", described.get(k, default))
            for k, default in (("val", 0.05), ("test", 0.10))
        ]
        task = LinkGLTTask(graph, config, *fractions)
        in_channels = graph.num_features if graph.x is not None else None

        def factory():
            return build_link_model(p["model"], in_channels, graph.num_nodes, **options)

    _check_same_graph(path, p, searched, "--disk" if args.disk is not None else "--dataset")
    try:
        _check_shapes(path, ticket, factory)
    except (TypeError, ValueError) as err:
        if str(path) in str(err):
            raise
        raise ValueError(f"{path}: provenance model_options {options}: {err}") from None
    return ticket, graph, task, factory


def _trained_path(path: Path, ticket: Any) -> Path | None:
    """The trained weights the ticket names (``provenance['trained']``), confined to the ticket's folder.

    None when it names none.
    """
    from ..validation import confined_path

    named = ticket.provenance.get("trained")
    if not named:
        return None
    return confined_path(path.parent, named, f"{path}: provenance 'trained'")


def _retrain(args: argparse.Namespace, ticket: Any, task: Any, factory: Any) -> tuple[dict[str, Any], Any]:
    from ..sparsify.search import retrain_ticket
    from ..utils import resolve_device

    return retrain_ticket(ticket, task, factory, device=resolve_device(args.device))


def _load_trained(model: Any, trained: Path) -> None:
    """Load the trained weights file into ``model``.

    The file holds a dict of tensors with exactly the model's names and shapes (checked before loading, every
    problem naming the file).
    """
    import torch

    from ..validation import FileProblem, load_torch_file

    state = load_torch_file(trained, "trained weights", "it is written by `graphsparse glt --save-tickets`")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise FileProblem(f"trained weights {trained} must hold a dict of tensors (a state dict)")
    own = model.state_dict()
    if set(state) != set(own):
        raise FileProblem(
            f"trained weights {trained} do not fit the ticket's model: missing "
            f"{', '.join(sorted(set(own) - set(state))[:3]) or 'none'}; unexpected "
            f"{', '.join(sorted(set(state) - set(own))[:3]) or 'none'}"
        )
    for name, value in state.items():
        if value.shape != own[name].shape or not value.dtype.is_floating_point == own[name].dtype.is_floating_point:
            raise FileProblem(
                f"trained weights {trained}: {name!r} is {value.dtype} {list(value.shape)}, the model's "
                f"{own[name].dtype} {list(own[name].shape)}"
            )
        if value.dtype.is_floating_point and not bool(torch.isfinite(value).all()):
            raise FileProblem(f"trained weights {trained}: {name!r} holds NaN or infinite values")
    model.load_state_dict(state)


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

    if args.disk is not None:
        raise ValueError(
            f"--disk {args.disk}: ticket compact checks the compact model against the full graph in memory; "
            "evaluate a disk graph's ticket with `ticket eval --disk` instead"
        )
    ticket_path = Path(args.path)
    beside = [("the ticket", ticket_path), ("its trained weights", ticket_path.parent / "trained.pt")]
    check_distinct([("--out", args.out)], beside)  # writing --out never overwrites what this command reads
    out_path = check_output_file(args.out, "--out")  # before any retraining
    ticket, graph, task, factory = _load(args)
    trained = _trained_path(ticket_path, ticket)
    if trained is not None:
        check_distinct([("--out", out_path)], [("its trained weights", trained)])
    model = factory()
    if not isinstance(model, GCN):
        raise ValueError(
            "ticket compact needs a graphsparse GCN (--model gcn); this ticket's model is "
            f"{ticket.provenance['model']!r}"
        )
    if trained is not None and trained.is_file():
        _load_trained(model, trained)
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
