"""``graphsparse train``: train and evaluate over seeds; print mean ± std and store every run.

Paths (modes): full-batch node classification (:mod:`.train_node`), Cluster-GCN (:mod:`.train_cluster`; in memory,
or from a disk graph through memory maps with ``--on-disk`` / ``--disk FOLDER``), GAug-M / GAug-O
(:mod:`.train_augment`) and link prediction (:mod:`.train_link`).

Every option is declared once, in the table of :mod:`.train_options`, with the modes it applies to. ``--task``,
``--batching``, ``--augment``, ``--on-disk`` and ``--disk`` select the mode; the command line is then parsed by
that mode's parser, built from the table: it takes the options of the mode, and argparse refuses any other one
with a usage error naming the option, where it applies and the mode chosen. ``--help`` lists the options grouped
by where they apply; ``graphsparse train --task link --help`` (or any mode's selectors with ``--help``) lists one
mode's options only.

Without ``--preset``, the paper's preset of (model, dataset) is used when one is registered
(:mod:`graphsparse.presets`); ``--preset none`` gives the bare library defaults. An option left out takes the
preset's value; the defaults that do not depend on a preset are declared in argparse (``%(default)s`` in help).
"""

from __future__ import annotations

import argparse
from typing import Any

from . import options as opt
from .train_node import resolved_node_setup, run_node_command
from .train_options import ALL, CHECKS, MODES, OPTIONS, SELECTORS, named, where

__all__ = ["add_parser", "run", "check", "mode_of", "where", "CHECKS", "MODES", "OPTIONS", "train_document"]


_DESCRIPTION = "Train a model on a dataset over several seeds; print mean ± std and store every run."


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand: every option of :data:`OPTIONS`, parsed by the chosen mode's parser.

    Args:
        sub: the ``graphsparse`` parser's subcommands.
    """
    parser = sub.add_parser(
        "train",
        help="train and evaluate a model over several seeds",
        description=f"{_DESCRIPTION} --task, --batching and --augment choose the mode; options are grouped below by "
        "the modes they apply to, and an option the chosen mode does not use is refused. With a mode's options, "
        "--help lists that mode's options only.",
        dispatch=_dispatch,
    )
    groups: dict[str, Any] = {}
    for option in OPTIONS:
        if option.add is not None and option.modes != ALL:  # --workers, --ray-address: a group of their own
            option.add_to(parser)
            continue
        title = where(option.modes)
        if title not in groups:
            groups[title] = parser.add_argument_group(f"options of {title}")
        option.add_to(groups[title])
    parser.set_defaults(handler=run)


_MODE_PARSERS: dict[tuple[str, str], opt.CommandParser] = {}


def mode_parser(mode: str, prog: str = "graphsparse train") -> opt.CommandParser:
    """The parser of one mode: the options of :data:`OPTIONS` that apply to it; every other one refused.

    Args:
        mode: a name of :data:`MODES`.
        prog: the program name its messages start with.

    Returns:
        The parser (built once per mode).
    """
    key = (mode, prog)
    if key not in _MODE_PARSERS:
        parser = opt.CommandParser(prog=prog, description=f"{_DESCRIPTION} Options of {named(mode)}.")
        for option in OPTIONS:
            if mode in option.modes:
                option.add_to(parser)
            else:
                why = f"applies to {where(option.modes)} only, not to {named(mode)}"
                option.add_to(opt.RefusingAdder(parser, why))
        parser.set_defaults(handler=run)
        _MODE_PARSERS[key] = parser
    return _MODE_PARSERS[key]


def _dispatch(parser: opt.CommandParser, arguments: list[str]) -> argparse.ArgumentParser:
    """The parser for ``arguments``: the mode their selectors choose (``--help`` alone: every option)."""
    # abbreviations (--aug) resolve here as in the mode's parser: a prefix of one selector is that selector there
    # too, or ambiguous there (--t: --task, --threads, ...) and refused
    selectors = opt.CommandParser(prog=parser.prog, add_help=False)
    for option in OPTIONS:
        if option.dest in SELECTORS:
            option.add_to(selectors)
    chosen, _ = selectors.parse_known_args(arguments)
    try:
        mode = mode_of(chosen)
    except ValueError as err:
        selectors.error(str(err))
    if mode == "full" and ("-h" in arguments or "--help" in arguments):
        return parser
    return mode_parser(mode, parser.prog)


def mode_of(args: argparse.Namespace) -> str:
    """Which path runs, from the selectors (``--augment none`` / ``--batching full`` are the defaults).

    Args:
        args: the parsed options (at least ``task``, ``batching``, ``augment``, ``on_disk``, ``disk``).

    Returns:
        A name of :data:`MODES`.

    Raises:
        ValueError: ``--augment`` with ``--batching cluster`` (GAug trains on full batches).
    """
    augment = None if args.augment in (None, "none") else args.augment
    cluster = args.batching == "cluster"
    if args.task == "link":
        return "link"
    if augment is not None:
        if cluster:
            raise ValueError(
                f"--augment {augment} runs full-batch training: it does not combine with --batching cluster"
            )
        return augment
    if cluster:
        return "cluster-disk" if args.on_disk or args.disk is not None else "cluster"
    return "full"


def check(args: argparse.Namespace) -> str:
    """Check every option value and the combinations a mode needs.

    Args:
        args: the parsed ``train`` options (their mode's parser took only the options of the mode).

    Returns:
        The mode's name (:data:`MODES`).

    Raises:
        ValueError: a value out of range (naming its option), or neither or both of --dataset and --disk.
    """
    opt.check_values(args, CHECKS)
    mode = mode_of(args)
    if args.disk is not None and args.dataset is not None:
        raise ValueError(f"--disk {args.disk}: give either --dataset or --disk FOLDER, not both")
    if args.disk is None and args.dataset is None:
        raise ValueError("--dataset is required (or --disk FOLDER with --batching cluster)")
    if args.disk is not None and args.normalize_features == "on":
        raise ValueError(
            f"--normalize-features: a --disk graph's features are used as stored ({args.disk}); write the folder "
            "with row-normalised features instead, or use --dataset with --on-disk"
        )
    return mode


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Train every (dataset, model) of the grid; ``--workers``/``--ray-address`` run the seeds on Ray.

    Args:
        args: the parsed ``train`` options.

    Returns:
        One pair: its document (printed by the command). A grid prints each combination's document as it
        finishes (one JSON object per line with ``--json``) and returns None.

    Raises:
        ValueError: an option does not apply to the chosen path, or a value is out of range.
    """
    from ..experiments.tables import print_summary
    from ..utils import resolve_device
    from .grid import combinations, run_grid, split_list

    device = resolve_device(args.device if args.device is not None else "cpu")
    if args.dataset is None or args.disk is not None:  # --disk FOLDER: one folder, no dataset grid
        check(argparse.Namespace(**vars(args)))  # refuses --disk off the on-disk path, or without a folder
        if len(split_list("--model", args.model)) > 1:
            raise ValueError(f"--model {args.model}: --disk trains one model at a time")
        return run_one(args, device)
    grid = len(combinations(argparse.Namespace(**vars(args)))) > 1

    def run_combination(combo: argparse.Namespace, executor: Any) -> dict[str, Any]:
        document = run_one(combo, device, executor)
        if grid:
            print_summary(document, combo.json)
        return document

    documents = run_grid(args, check, run_combination, device, protocol=grid_protocol, command="graphsparse train")
    return None if grid else documents[0]


def run_one(args: argparse.Namespace, device: Any, executor: Any = None) -> dict[str, Any]:
    """Check the options, load the dataset and run the chosen path; returns the summary."""
    from ..experiments.tracking import tracked
    from .preflight import preflight
    from .runs import invocation_record

    mode = check(args)
    writer = opt.tensorboard_writer(args)  # --tensorboard: the package is checked before anything is created
    # the results database is opened and test-written before any training (exit 2 if it cannot be written)
    store = preflight(
        args,
        folders=[("--tensorboard", args.tensorboard)] if args.tensorboard is not None else (),
        datasets=[args.dataset] if args.dataset is not None else (),  # found before the database is created
        unit="runs",
        resume="each finished run is stored as it ends; a rerun trains every "
        "seed again (--seed-offset/--seeds train only the rest)",
    ).store
    store.invocation = invocation_record(device)  # command line, git commit, device, threads, invocation id
    store.invocation["parallel"] = executor.describe() if executor is not None else {"executor": "serial", "workers": 1}
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    try:  # every run stored is written to TensorBoard too (--tensorboard)
        return _run_mode(mode, args, seeds, tracked(store, writer), device, executor)
    finally:
        if writer is not None:
            writer.close()


def _run_mode(mode: str, args: argparse.Namespace, seeds: list[int], store: Any, device: Any, executor: Any) -> dict:
    """Load the dataset and run ``mode``'s path; returns the command's document."""
    from ..data import load_dataset

    if mode == "cluster-disk":  # loads the dataset itself, only to write it to disk (or never, with --disk)
        from .train_cluster import run_cluster_disk_command

        return train_document(run_cluster_disk_command(args, seeds, store, device), seeds, device)
    graph = load_dataset(args.dataset)
    if mode == "link":
        from .train_link import run_link_command

        summary = run_link_command(args, graph, seeds, store, device, executor)
    elif mode in ("gaug-m", "gaug-o"):
        from .train_augment import run_augment_command

        summary = run_augment_command(args, graph, seeds, store, device)
    elif mode == "cluster":
        from .train_cluster import run_cluster_command

        summary = run_cluster_command(args, graph, seeds, store, device)
    else:
        summary = run_node_command(args, graph, seeds, store, device, executor)
    return train_document(summary, seeds, device)


def train_document(summary: dict[str, Any], seeds: list[int], device: Any) -> dict[str, Any]:
    """A path's summary as the shared JSON document (:func:`graphsparse.experiments.document.command_document`).

    Args:
        summary: the path's flat keys, ``runs`` and its resolved ``config``.
        seeds: the seeds trained.
        device: the torch device (it and the thread count join ``config``).

    Returns:
        The command's JSON document.
    """
    from ..experiments.document import STD_SAMPLE, command_document, metric_summary
    from .node_setup import runtime_config

    extra = dict(summary)
    config = {**extra.pop("config", {}), **runtime_config(device)}
    return command_document(
        "train",
        dataset=extra["dataset"],
        model=extra["model"],
        task=extra["task"],
        metric=extra["metric"],
        seeds=seeds,
        config=config,
        summary=metric_summary(extra),
        extra=extra,
        std=STD_SAMPLE,
    )


_PROTOCOL_FIELDS = ("normalize_features", "weight_decay", "decay_first_layer_only", "lr", "epochs")


def grid_protocol(args: argparse.Namespace) -> dict[str, Any] | None:
    """What a grid compares between its rows: the preset's name and the settings that make scores comparable.

    Args:
        args: one row's checked options.

    Returns:
        The preset and the training settings (feature normalisation, weight decay and where it applies, learning
        rate, epochs); None for link prediction (one protocol for every model).

    Raises:
        ValueError: the row's preset is not registered for its model and dataset.
    """
    if mode_of(args) == "link":
        return None
    from ..data import canonical_name

    setup = resolved_node_setup(args, canonical_name(args.dataset))
    return {"preset": setup["preset"], **protocol_fields(setup["config"])}


def protocol_fields(config: Any) -> dict[str, Any]:
    """The training settings of a node config that a grid compares between its rows."""
    return {k: getattr(config, k) for k in _PROTOCOL_FIELDS}
