"""Run one configuration over seeds: seed, build, fit, record — the same way for every trainer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..utils import seed_everything
from .result import RunResult

__all__ = ["run_seeds"]


def run_seeds(
    seeds: Sequence[int],
    run_one: Callable[[int, int], RunResult],
    *,
    on_result: Callable[[RunResult], None] | None = None,
    desc: str = "",
    progress: bool = True,
) -> list[RunResult]:
    """``run_one(seed_index, seed)`` for each seed, after ``seed_everything(seed)``; ``on_result`` sees each
    result as soon as it exists (record it there: a later seed failing never loses an earlier one)."""
    from tqdm.auto import tqdm

    results = []
    for index, seed in enumerate(tqdm(list(seeds), desc=desc, unit="seed", disable=not progress, leave=False)):
        seed_everything(seed)
        result = run_one(index, seed)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
