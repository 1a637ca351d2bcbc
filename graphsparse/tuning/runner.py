"""One tuning job: search on the tuning graph, then train the chosen configuration on fresh seeds and test once.

:func:`tune` runs (or resumes, or joins) the study on :func:`~graphsparse.tuning.honest.tuning_graph`, takes the
best complete trial, and — unless ``seeds`` is empty (a worker that only adds trials) — trains the chosen
configuration on the real graph with seeds ``0..seeds-1`` (never used by a trial) beside the plain backbone of
:func:`~graphsparse.tuning.setup.baseline_setup` on the same seeds. The test split is read only there, once per
seed, after the choice is made.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from ..graph import Graph
from ..train import NonFiniteError
from .honest import tuning_graph
from .objective import TuneSetup, check_space, make_objective, run_config, score_of
from .setup import baseline_setup
from .space import SearchSpace
from .study import best_values, open_study, optimize, trial_counts

__all__ = ["tune", "study_description", "default_study_name", "mean_std"]


def study_description(setup: TuneSetup, space: SearchSpace, trial_seeds: int) -> dict[str, Any]:
    """What a study tunes (stored with it; a study reopened with another description is refused)."""
    return {**setup.describe(), "space": space.to_dict(), "trial_seeds": trial_seeds}


def default_study_name(setup: TuneSetup, space: SearchSpace, trial_seeds: int) -> str:
    """``<method>-<model>-<dataset>-<split>-k<trial seeds>-<hash of the description>``."""
    import hashlib
    import json

    blob = json.dumps(study_description(setup, space, trial_seeds), sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:8]
    return f"{setup.method}-{setup.model}-{setup.dataset}-{setup.split}-k{trial_seeds}-{digest}"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population standard deviation (the convention of the project's tables)."""
    values = [float(v) for v in values]
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


def tune(
    setup: TuneSetup,
    graph: Graph,
    space: SearchSpace,
    *,
    trials: int,
    trial_seeds: int,
    seeds: int,
    storage: str,
    study_name: str | None = None,
    sampler_seed: int = 0,
    heartbeat: int = 60,
    progress: bool = True,
    on_chosen: Callable[[dict[str, Any]], None] | None = None,
    on_run: Callable[[str, dict[str, Any], Graph], None] | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """Run the study to ``trials`` finished trials, then evaluate its choice on ``seeds`` fresh seeds.

    See the module docstring. ``on_chosen(summary)`` sees the choice and the trial counts before any final run;
    ``on_run(role, row, graph)`` sees every final run as it finishes (``role``: ``'tuned'`` or
    ``'baseline'``; record it there); ``store`` commits UGS's levels. Returns the summary (chosen parameters,
    trial counts, per-seed rows, mean ± std of the tuned and baseline runs).
    """
    check_space(setup, graph, space)  # every value a trial can suggest, before the study starts
    hidden = tuning_graph(graph, setup.split)
    name = study_name or default_study_name(setup, space, trial_seeds)
    description = study_description(setup, space, trial_seeds)
    warmup = 1 if setup.glt else min(20, max(setup.epochs // 10, 1))
    study = open_study(name, storage, description, sampler_seed=sampler_seed, warmup=warmup, heartbeat=heartbeat)
    objective = make_objective(setup, hidden, space, trial_seeds)
    ran = optimize(study, objective, trials, progress=progress, catch=(NonFiniteError,))
    counts = trial_counts(study)
    summary: dict[str, Any] = {
        "study": name,
        "storage": storage,
        "method": setup.method,
        "trials": counts["complete"] + counts["pruned"],
        "trials_requested": trials,
        "trials_run_here": ran,
        "trial_counts": counts,
        "trial_seeds": trial_seeds,
        "sampler_seed": sampler_seed,
        "space": space.to_dict(),
        "setup": setup.describe(),
    }
    params, best_val, number = best_values(study)
    chosen = space.complete(params)
    summary.update(chosen=chosen, best_trial=number, best_trial_val=best_val)
    if on_chosen is not None:
        on_chosen(summary)
    if seeds == 0:
        return summary
    fresh = list(range(seeds))
    val, test = (f"{part}_{setup.metric}" for part in ("val", "test"))
    if setup.glt:
        levels = run_config(setup, graph, chosen, space, fresh, store=store, dense=True, progress=progress)
        summary["levels"] = [{k: v for k, v in level.summary().items() if k != "tickets"} for level in levels]
        dense, *mine = levels  # the search yields its dense baseline first (dense=True)
        m = setup.metric
        # the sparsest ticket's test score is the headline; every level is in ``levels``
        summary[f"test_{m}_mean"], summary[f"test_{m}_std"] = mine[-1].test_mean, mine[-1].test_std
        summary[f"val_{m}_mean"], summary[f"val_{m}_std"] = mine[-1].val_mean, mine[-1].val_std
        summary[f"rounds_mean_test_{m}"] = statistics.fmean(level.test_mean for level in mine)
        summary[f"baseline_test_{m}_mean"], summary[f"baseline_test_{m}_std"] = dense.test_mean, dense.test_std
        return summary

    def recorder(role: str, target: Graph) -> Callable[[dict[str, Any]], None]:
        def record(row: dict[str, Any]) -> None:
            if on_run is not None:
                on_run(role, row, target)

        return record

    rows = run_config(setup, graph, chosen, space, fresh, on_result=recorder("tuned", graph), progress=progress)
    summary["runs"] = [_short(row, val, test) for row in rows]
    for part, key in (("val", val), ("test", test)):
        summary[f"{key}_mean"], summary[f"{key}_std"] = mean_std([score_of(r, part, setup.metric) for r in rows])
    plain = baseline_setup(setup)
    if plain is not None:
        empty = SearchSpace("gcn", [])
        base_rows = run_config(plain, graph, {}, empty, fresh, on_result=recorder("baseline", graph), progress=progress)
        summary["baseline"] = {"model": plain.model, "config": plain.base}
        summary["baseline_runs"] = [_short(row, val, test) for row in base_rows]
        for part, key in (("val", val), ("test", test)):
            values = [score_of(r, part, setup.metric) for r in base_rows]
            summary[f"baseline_{key}_mean"], summary[f"baseline_{key}_std"] = mean_std(values)
    return summary


def _short(row: dict[str, Any], val: str, test: str) -> dict[str, Any]:
    return {k: row[k] for k in ("seed", "split", val, test, "best_epoch") if k in row}
