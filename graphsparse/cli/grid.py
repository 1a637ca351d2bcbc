"""Grids and workers shared by ``train`` and ``glt``.

That is ``--dataset a,b --model x,y`` and ``--workers`` / ``--ray-address``.

A grid runs its (dataset, model) combinations one after the other, each exactly as the single command would;
with workers, each combination's units (seeds, or GLT levels × seeds) spread over the same Ray workers, started
once for the whole grid. Every combination is checked before anything trains, so a typo in the last dataset
name fails at once, not after the first search.

A grid also compares the protocol its rows run under (``protocol``: the preset and the training settings that
make a comparison fair, resolved before anything trains): when models on one dataset run under different
presets or settings (``--model gcn,gat``: GCN under Kipf & Welling's preset, GAT under the library defaults),
one warning line on standard error names them, so a table that looks like a like-for-like comparison is not
taken for one. A preset that one row does not have (``--preset paper --model gcn,gat``) is refused before the
first row trains.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from typing import Any

from . import options as opt

__all__ = ["PARALLEL", "split_list", "combinations", "make_cli_executor", "run_grid", "protocol_warning"]

PARALLEL = ("workers", "ray_address")


def workers_option(name: str, value: Any) -> int | str:
    """``--workers``: an integer >= 1, or ``auto`` (resolved by :func:`resolve_auto_workers`)."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "auto":
            return "auto"
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{name} must be an integer >= 1 or 'auto', got {value!r}") from None
    return opt.positive_int(name, value)


CHECKS: dict[str, opt.Check] = {"workers": workers_option}


def resolve_auto_workers(args: argparse.Namespace) -> None:
    """Replace ``--workers auto`` by the free cores, or by a serial run (None).

    The free cores are :func:`graphsparse.threads.choose_workers`'s; fewer than two, or no Ray installed, mean a
    serial run. One line on standard error says which.

    Args:
        args: the command's options; ``args.workers`` is replaced in place.

    Raises:
        ValueError: ``--workers auto`` with ``--ray-address``.
    """
    if getattr(args, "workers", None) != "auto":
        return
    if getattr(args, "ray_address", None) is not None:
        raise ValueError("--workers auto starts a local Ray; with --ray-address give --workers N or leave it out")
    import importlib.util

    from ..threads import choose_workers

    free = choose_workers()
    if free < 2:
        args.workers = None
        why = f"{free} free core"
    elif importlib.util.find_spec("ray") is None:
        args.workers = None
        why = "Ray is not installed (pip install graphsparse[ray])"
    else:
        args.workers = free
        why = f"{free} free cores"
    shown = "serially" if args.workers is None else f"on {args.workers} Ray workers"
    print(f"--workers auto: {why}, running {shown}", file=sys.stderr)


def split_list(option: str, text: str) -> list[str]:
    """``'cora, citeseer'`` -> ``['cora', 'citeseer']``; empty items and repeats are refused."""
    items = [item.strip() for item in str(text).split(",")]
    if not all(items):
        raise ValueError(f"{option} {text!r}: empty name in a comma-separated list")
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise ValueError(f"{option} {text!r}: {', '.join(repeated)} listed twice")
    return items


def combinations(args: argparse.Namespace) -> list[argparse.Namespace]:
    """One namespace per (dataset, model) of the grid, datasets outermost; a single pair gives ``[args]``."""
    # a --disk folder's own name (its meta.json) is one name, commas and all
    disk = getattr(args, "disk", None) is not None
    datasets = [args.dataset] if disk else split_list("--dataset", args.dataset)
    models = split_list("--model", args.model)
    if len(datasets) == 1 and len(models) == 1:
        args.dataset, args.model = datasets[0], models[0]
        return [args]
    out = []
    for dataset in datasets:
        for model in models:
            combo = copy.copy(args)
            combo.dataset, combo.model = dataset, model
            out.append(combo)
    return out


def check_parallel(args: argparse.Namespace) -> None:
    opt.check_values(args, CHECKS)
    resolve_auto_workers(args)
    address = getattr(args, "ray_address", None)
    if address is not None and not str(address).strip():
        raise ValueError("--ray-address must be 'auto' or HOST:PORT of a Ray head, got an empty string")
    if address is not None:
        from ..parallel import check_ray_address

        try:
            check_ray_address(address)
        except ValueError as err:
            raise ValueError(f"--ray-address: {err}") from None


def make_cli_executor(args: argparse.Namespace, device: Any) -> Any:
    """The executor ``--workers`` / ``--ray-address`` ask for (None: run serially, Ray is never imported).

    Each task gets ``--threads`` torch threads (default 1) and as many CPUs of Ray's; with a CUDA device, local
    workers share the visible GPUs evenly (``num_gpus`` = GPUs / workers, at most 1 per task) and a cluster's
    tasks take one GPU each.
    """
    workers, address = getattr(args, "workers", None), getattr(args, "ray_address", None)
    if workers is None and address is None:
        return None
    from ..parallel import make_executor

    threads = getattr(args, "threads", None) or 1
    gpus = 0.0
    if str(device).startswith("cuda"):
        import torch

        gpus = 1.0 if address is not None else min(1.0, torch.cuda.device_count() / workers)
    return make_executor(workers, address, threads=threads, gpus_per_task=gpus)


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)


def protocol_warning(rows: list[tuple[str, str, dict[str, Any]]]) -> str | None:
    """One line naming what differs between the protocols of a grid's rows on the same dataset, or None.

    Args:
        rows: ``(dataset, model, protocol)`` per combination; ``protocol`` is ``{"preset": name or None, ...}``
            with the training settings to compare (feature normalisation, weight decay and where it applies,
            learning rate, epochs).

    Returns:
        ``"the grid's rows run under different presets: cora: gcn preset=paper, mlp preset=none; ..."`` (only the
        settings that differ, per model), or None when every dataset's rows share one protocol.
    """
    parts = []
    for dataset in dict.fromkeys(d for d, _, _ in rows):
        mine = [(model, protocol) for d, model, protocol in rows if d == dataset]
        keys = list(dict.fromkeys(k for _, protocol in mine for k in protocol))
        differ = [k for k in keys if len({repr(protocol.get(k)) for _, protocol in mine}) > 1]
        if differ:
            described = ", ".join(
                f"{model} " + " ".join(f"{k}={_shown(protocol.get(k))}" for k in differ) for model, protocol in mine
            )
            parts.append(f"{dataset}: {described}")
    if not parts:
        return None
    return (
        "the grid's rows run under different presets: "
        + "; ".join(parts)
        + " (not a like-for-like comparison: give --preset, or the options that differ, to every row)"
    )


def run_grid(
    args: argparse.Namespace,
    check: Callable[[argparse.Namespace], Any],
    run_one: Callable[[argparse.Namespace, Any], Any],
    device: Any,
    protocol: Callable[[argparse.Namespace], dict[str, Any] | None] | None = None,
    command: str = "graphsparse",
) -> list[Any]:
    """Check every combination, start the workers (if asked), then ``run_one(combo, executor)`` for each.

    The workers are released at the end, however it ends.

    Args:
        args: the command's options (``--dataset``/``--model`` may be comma-separated lists).
        check: checks (and converts) one combination's options; raises ValueError.
        run_one: runs one combination with the executor (or None).
        device: the torch device the runs use.
        protocol: a checked combination's protocol (preset and training settings; None when it has none to
            compare); with several combinations, differing protocols on one dataset print one warning line on
            standard error (:func:`protocol_warning`), and a preset a row cannot have is refused now.
        command: the command's name for the warning (``graphsparse train``).
    """
    check_parallel(args)
    combos = combinations(args)
    if len(combos) > 1:
        from .preflight import check_datasets

        # an unknown or missing dataset fails now, not after the combinations before it (nor with a database made)
        check_datasets(dict.fromkeys(combo.dataset for combo in combos))
    protocols = []
    for combo in combos:
        checked = copy.copy(combo)  # on a copy: each run checks (and converts) its own options again
        check(checked)
        if protocol is not None and len(combos) > 1:
            described = protocol(checked)
            if described is not None:
                protocols.append((str(combo.dataset), str(combo.model), described))
    warning = protocol_warning(protocols)
    if warning is not None:
        print(f"{command}: warning: {warning}", file=sys.stderr)
    executor = make_cli_executor(args, device)
    try:
        return [run_one(combo, executor) for combo in combos]
    finally:
        if executor is not None:
            executor.close()
