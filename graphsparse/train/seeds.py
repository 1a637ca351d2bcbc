"""Run one configuration over seeds: seed, build, fit, record — the same way for every trainer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..utils import seed_everything
from .result import RunResult

__all__ = ["run_seeds", "seeded_run"]


def seeded_run(run_one: Callable[[int, int], RunResult], index: int, seed: int) -> RunResult:
    """``run_one(index, seed)`` after ``seed_everything(seed)``: one seed's unit, in any process."""
    seed_everything(seed)
    return run_one(index, seed)


def run_seeds(
    seeds: Sequence[int],
    run_one: Callable[[int, int], RunResult],
    *,
    on_result: Callable[[RunResult], None] | None = None,
    desc: str = "",
    progress: bool = True,
    executor: Any = None,
) -> list[RunResult]:
    """Run ``run_one(seed_index, seed)`` for each seed, after ``seed_everything(seed)``.

    ``on_result`` sees each result as soon as it exists (record it there: a later seed failing never loses an
    earlier one).

    ``executor`` (:mod:`graphsparse.parallel`, e.g. Ray workers): the seeds run side by side; ``run_one`` is
    shipped to the workers once, and ``on_result`` still runs here, in seed order (a seed that finishes before
    an earlier one waits for it), so records and output match a serial run exactly.
    """
    from tqdm.auto import tqdm

    seeds = list(seeds)
    bar = tqdm(total=len(seeds), desc=desc, unit="seed", disable=not progress, leave=False)
    results: list[RunResult | None] = [None] * len(seeds)
    try:
        if executor is None:
            for index, seed in enumerate(seeds):
                results[index] = seeded_run(run_one, index, seed)
                if on_result is not None:
                    on_result(results[index])
                bar.update(1)
            return results  # type: ignore[return-value]
        shipped = executor.put(run_one)
        handles = {executor.submit(seeded_run, shipped, index, seed): index for index, seed in enumerate(seeds)}
        reported = 0
        for handle, result in executor.as_completed(list(handles)):
            results[handles[handle]] = result
            bar.update(1)
            while reported < len(seeds) and results[reported] is not None:
                if on_result is not None:
                    on_result(results[reported])
                reported += 1
        return results  # type: ignore[return-value]
    finally:
        bar.close()
