"""Shared timing loop for the benchmarks: warm-up, then interleaved repeats in a shuffled order."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping


def interleaved_times(
    runs: Mapping[str, Callable[[], object]], repeats: int, warmup: int, seed: int = 0
) -> dict[str, list[float]]:
    """Seconds per call of every run: ``warmup`` untimed rounds, then ``repeats`` timed rounds.

    Each round calls every run once in a freshly shuffled order, so load from other processes hits them alike.
    """
    for _ in range(warmup):
        for run in runs.values():
            run()
    rng = random.Random(seed)
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for _ in range(repeats):
        rng.shuffle(order)
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times
