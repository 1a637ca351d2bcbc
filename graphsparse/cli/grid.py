"""Grids and workers shared by ``train`` and ``glt``: ``--dataset a,b --model x,y`` and ``--workers`` /
``--ray-address``.

A grid runs its (dataset, model) combinations one after the other, each exactly as the single command would;
with workers, each combination's units (seeds, or GLT levels × seeds) spread over the same Ray workers, started
once for the whole grid. Every combination is checked before anything trains, so a typo in the last dataset
name fails at once, not after the first search.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from typing import Any

from . import options as opt

__all__ = ["PARALLEL", "split_list", "combinations", "make_cli_executor", "run_grid"]

PARALLEL = ("workers", "ray_address")
CHECKS: dict[str, opt.Check] = {"workers": opt.positive_int}


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
    datasets = split_list("--dataset", args.dataset)
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
    address = getattr(args, "ray_address", None)
    if address is not None and not str(address).strip():
        raise ValueError("--ray-address must be 'auto' or HOST:PORT of a Ray head, got an empty string")


def make_cli_executor(args: argparse.Namespace, device: Any) -> Any:
    """The executor ``--workers`` / ``--ray-address`` ask for (None: run serially, Ray is never imported).

    Each task gets ``--threads`` torch threads (default 1) and as many CPUs of Ray's; with a CUDA device, local
    workers share the visible GPUs evenly (``num_gpus`` = GPUs / workers, at most 1 per task) and a cluster's
    tasks take one GPU each."""
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


def run_grid(
    args: argparse.Namespace,
    check: Callable[[argparse.Namespace], Any],
    run_one: Callable[[argparse.Namespace, Any], Any],
    device: Any,
) -> list[Any]:
    """Check every combination, start the workers (if asked), then ``run_one(combo, executor)`` for each; the
    workers are released at the end, however it ends."""
    check_parallel(args)
    combos = combinations(args)
    if len(combos) > 1:
        from ..data import canonical_name

        for dataset in dict.fromkeys(combo.dataset for combo in combos):
            canonical_name(dataset)  # an unknown name fails now, not after the combinations before it
    for combo in combos:
        check(copy.copy(combo))  # on a copy: each run checks (and converts) its own options again
    executor = make_cli_executor(args, device)
    try:
        return [run_one(combo, executor) for combo in combos]
    finally:
        if executor is not None:
            executor.close()
