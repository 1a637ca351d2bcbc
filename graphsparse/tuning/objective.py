"""What one configuration costs and scores.

The same code trains a trial on the tuning graph and the chosen configuration on the real graph.

A :class:`TuneSetup` holds the method, the backbone, the split and the base configuration (the preset the search
starts from, ``{'model', 'train', 'gaug', 'method'}``); :func:`run_config` trains one configuration (base updated
with a space's values) over seeds and returns one metric-named row per seed (GLT levels for UGS). The objective
of a study (:func:`make_objective`) is the mean validation score of those rows over the trial seeds, computed on
:func:`~graphsparse.tuning.honest.tuning_graph` (no test labels); the study's pruner reads every run's validation
curve through ``fit``'s ``on_epoch`` callback (step = seed index × epochs + epoch, value = the best validation
score of the current run so far, reported every epochs/20 epochs; for UGS step = round, value = the mean
validation score of the rounds so far).
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..graph import Graph, GraphError
from .space import SearchSpace

__all__ = ["TuneSetup", "run_config", "make_objective", "TRIAL_SEED_BASE", "score_of"]

TRIAL_SEED_BASE = 20_000  # trials train with seeds 20000.., never the reported seeds 0..N-1

NODE_METHODS = ("gcn", "twirls")


@dataclass
class TuneSetup:
    """A study's fixed part.

    Method (a key of :data:`~graphsparse.tuning.space.SPACES`), backbone model, split, metric, base configuration
    and (UGS) the GLT schedule.
    """

    method: str
    model: str
    dataset: str
    split: str
    metric: str = "acc"
    preset: str | None = None
    base: dict[str, dict[str, Any]] = field(default_factory=dict)
    rounds: int = 5
    pg: float = 0.05
    pw: float = 0.2
    device: str = "cpu"
    # GAug-M: predictor embeddings per (structure, draw), shared by every trial and by the final runs
    _embeddings: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict, repr=False)

    def describe(self) -> dict[str, Any]:
        """The JSON-able description stored with the study and the results."""
        out = {
            "method": self.method,
            "model": self.model,
            "dataset": self.dataset,
            "split": self.split,
            "metric": self.metric,
            "preset": self.preset,
            "base": self.base,
        }
        if self.glt:
            out.update(rounds=self.rounds, pg=self.pg, pw=self.pw)
        return out

    def merged(self, parts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The base configuration updated with a space's values sorted by target."""
        return {t: {**self.base.get(t, {}), **parts.get(t, {})} for t in ("model", "train", "gaug", "method")}

    @property
    def glt(self) -> bool:
        """Whether the tuned method is a GLT method (its trials are searches; its score the rounds' validation)."""
        from .space import glt_tunable

        return glt_tunable(self.method)

    @property
    def epochs(self) -> int:
        """Epochs of one training run (the pruner's step stride)."""
        source = self.base.get("gaug", {}) if self.method == "gaug-o" else self.base.get("train", {})
        return int(source.get("epochs", 200))


def score_of(row: dict[str, Any], part: str, metric: str) -> float:
    """The ``part`` score of one result row.

    Args:
        row: a row of :func:`run_config`.
        part: ``"val"`` or ``"test"``.
        metric: the metric's name (``"acc"``, ``"roc_auc"``...).

    Returns:
        ``row[f"{part}_{metric}"]`` as a float.

    Raises:
        KeyError: the row has no such score.
    """
    return float(row[f"{part}_{metric}"])


# ---------------------------------------------------------------------------------------------- one configuration
def _node_config(train: dict[str, Any], metric: str) -> Any:
    from ..tasks.node import NodeTrainConfig

    return NodeTrainConfig(**{**train, "metric": metric})


def _build(model: str, graph: Graph, options: dict[str, Any]) -> Callable[[], torch.nn.Module]:
    from ..nn import build_model

    classes = graph.num_classes

    def factory() -> torch.nn.Module:
        return build_model(model, graph.num_features, classes, **options)

    factory()  # bad options fail before any training
    return factory


def _train_node_runs(
    setup: TuneSetup,
    graph: Graph,
    config: dict[str, dict[str, Any]],
    seeds: Sequence[int],
    on_epoch: Callable[[int], Callable[[int, Any], None]] | None,
    on_result: Callable[[dict[str, Any]], None] | None,
    progress: bool,
) -> list[dict[str, Any]]:
    from ..tasks.node import row_normalize_features, split_for_seed, train_node
    from ..train import run_seeds

    train = _node_config(config["train"], setup.metric)
    factory = _build(setup.model, graph, config["model"])
    if train.normalize_features:
        graph = row_normalize_features(graph)
    rows: list[dict[str, Any]] = []

    def run_one(index: int, seed: int) -> Any:
        split_name, split = split_for_seed(graph, index, setup.split)
        model = factory().to(setup.device)
        hook = on_epoch(index) if on_epoch is not None else None
        return train_node(graph, model, split, train, seed=seed, split_name=split_name, on_epoch=hook)

    def collect(result: Any) -> None:
        row = _row(result, setup.metric)
        rows.append(row)
        if on_result is not None:
            on_result(row)

    run_seeds(seeds, run_one, on_result=collect, desc=f"{setup.method} {graph.name}", progress=progress)
    return rows


def _row(result: Any, metric: str) -> dict[str, Any]:
    row = dict(result.metrics())
    if metric != "acc":
        for part in ("train", "val", "test"):
            if f"{part}_{metric}" not in row and f"{part}_acc" in row:
                row[f"{part}_{metric}"] = row.pop(f"{part}_acc")
    row["history"] = result.history
    return row


def _gaug_m_graph(setup: TuneSetup, graph: Graph, gaug: dict[str, Any]) -> Graph:
    from ..augment.gaug_m import gaug_m_graph
    from ..augment.selection import predictor_embeddings
    from ..validation import check_int

    draw = check_int("GAug-M draw", gaug.get("draw", 0), 0)
    # the predictor reads edges and features only: key its embeddings by them, so the tuning graph (no test
    # labels) and the real graph share them
    structure = graph.replace(y=None, splits={}, name=graph.name)
    key = (structure.fingerprint(), draw)
    if key not in setup._embeddings:
        options = {k: v for k, v in gaug.items() if k.startswith("ep_")}
        setup._embeddings[key] = predictor_embeddings(structure, options, draw)
    return gaug_m_graph(graph, setup._embeddings[key], gaug.get("rm_pct", 0), gaug.get("add_pct", 0))


def _gaug_o_runs(
    setup: TuneSetup,
    graph: Graph,
    config: dict[str, dict[str, Any]],
    seeds: Sequence[int],
    on_epoch: Callable[[int], Callable[[int, Any], None]] | None,
    on_result: Callable[[dict[str, Any]], None] | None,
    progress: bool,
) -> list[dict[str, Any]]:
    from ..augment.gaug_o import GAugOConfig, train_gaug_o
    from ..tasks.node import split_for_seed
    from ..train import run_seeds

    if setup.metric != "acc":
        raise ValueError(f"GAug-O reports accuracy only; {setup.dataset!r} is scored by {setup.metric}")
    gaug = GAugOConfig(**config["gaug"])
    factory = _build(setup.model, graph, config["model"])
    rows: list[dict[str, Any]] = []

    def run_one(index: int, seed: int) -> Any:
        split_name, split = split_for_seed(graph, index, setup.split)
        hook = on_epoch(index) if on_epoch is not None else None
        return train_gaug_o(
            graph, factory, split, gaug, seed=seed, split_name=split_name, device=setup.device, on_epoch=hook
        )

    def collect(result: Any) -> None:
        row = _row(result, "acc")
        rows.append(row)
        if on_result is not None:
            on_result(row)

    run_seeds(seeds, run_one, on_result=collect, desc=f"GAug-O {graph.name}", progress=progress)
    return rows


def _glt_levels(
    setup: TuneSetup,
    graph: Graph,
    config: dict[str, dict[str, Any]],
    seeds: Sequence[int],
    on_level: Callable[[Any], None] | None,
    store: Any,
    dense: bool,
) -> list[Any]:
    from ..sparsify.methods import MethodSetup, method_class
    from ..sparsify.search import glt_levels, glt_search

    train = _node_config(config["train"], setup.metric)
    factory = _build(setup.model, graph, config["model"])
    method_setup = MethodSetup(dataset=setup.dataset, preset=setup.preset, task="node")
    method = method_class(setup.method).configure(method_setup, **config["method"])
    levels = glt_levels(setup.rounds, setup.pg, setup.pw)
    out = []
    for level in glt_search(
        graph,
        factory,
        methods=[method],
        levels=levels,
        seeds=list(seeds),
        config=train,
        store=store,
        key_prefix=f"tune-{setup.method}|{setup.model}",
        split=setup.split,
        device=setup.device,
        dense=dense,
    ):
        out.append(level)
        if on_level is not None and level.method == setup.method:
            on_level(level)
    return out


def run_config(
    setup: TuneSetup,
    graph: Graph,
    values: dict[str, Any],
    space: SearchSpace,
    seeds: Sequence[int],
    *,
    on_epoch: Callable[[int], Callable[[int, Any], None]] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_level: Callable[[Any], None] | None = None,
    store: Any = None,
    dense: bool = False,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Train the base configuration updated with ``values`` (a space's values) on ``graph`` over ``seeds``.

    Node methods and GAug return one row per seed (``seed``, ``split``, ``train/val/test_<metric>``,
    ``best_epoch``, timing, ``history``); ``on_epoch(seed_index)`` returns the callback of that seed's run
    (or None). A GLT method returns the levels of :func:`~graphsparse.sparsify.search.glt_search` (the dense one
    first when ``dense``), ``on_level`` seeing each of its rounds, ``store`` committing them.
    """
    config = setup.merged(space.by_target(values))
    if graph.num_classes < 2:
        raise GraphError(f"dataset {setup.dataset!r} has fewer than two classes among its labelled nodes")
    if setup.glt:
        return _glt_levels(setup, graph, config, seeds, on_level, store, dense)
    if setup.method == "gaug-o":
        return _gaug_o_runs(setup, graph, config, seeds, on_epoch, on_result, progress)
    if setup.method == "gaug-m":
        graph = _gaug_m_graph(setup, graph, config["gaug"])
    return _train_node_runs(setup, graph, config, seeds, on_epoch, on_result, progress)


# ---------------------------------------------------------------------------------------------- checks
_WIDTH_MAX = 1 << 16  # model widths a trial may allocate
_DEPTH_MAX = 1024  # layers, propagation steps
_DEPTH_OPTIONS = ("num_layers", "layers", "steps", "heads", "K", "k")
_MAX_CHOICES = 64  # categorical choices probed one by one


def _corners(space: SearchSpace) -> list[dict[str, Any]]:
    """Values a trial can suggest, at the edges of the space.

    Every parameter at its low, its high and each of its choices (the others at their first value).
    """

    def extremes(param: Any) -> list[Any]:
        if param.type == "fixed":
            return [param.fixed]
        if param.type == "categorical":
            return list(param.choices[:_MAX_CHOICES])
        cast = int if param.type == "int" else float
        return [cast(param.low), cast(param.high)]

    base = {p.name: extremes(p)[0] for p in space}
    corners = [base]
    for param in space.searched:
        corners += [{**base, param.name: value} for value in extremes(param)[1:] if value != base[param.name]]
        if param.type != "categorical":
            corners.append({**base, param.name: extremes(param)[0]})
    return corners


def _check_model_values(options: dict[str, Any]) -> None:
    from ..validation import check_int

    for key, value in options.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if key in _DEPTH_OPTIONS:
            check_int(f"model option {key}", value, 0, _DEPTH_MAX)
        else:
            check_int(f"model option {key}", value, None, _WIDTH_MAX)


def check_space(setup: TuneSetup, graph: Graph, space: SearchSpace, where: str = "search space") -> None:
    """Check every value a trial of ``space`` can suggest, before any study starts.

    Each parameter at the edges of its range and each of its choices, merged into ``setup``'s configuration, builds
    the model (on torch's meta device: nothing is allocated, widths bounded first), the training config, the GAug
    options and the GLT method exactly as a trial would.

    Args:
        setup: the study's fixed part.
        graph: the graph trials train on (its feature and class counts shape the model).
        space: the search space.
        where: the space's source for messages (``--space FILE``).

    Raises:
        ValueError: naming the source, the parameter, its value and the problem.
    """
    from ..nn import build_model
    from ..validation import check_float, check_int

    for values in _corners(space):
        config = setup.merged(space.by_target(values))
        try:
            _check_model_values(config["model"])
            with torch.device("meta"):
                build_model(setup.model, graph.num_features, max(graph.num_classes, 2), **config["model"])
            if setup.method == "gaug-o":
                from ..augment.gaug_o import GAugOConfig

                GAugOConfig(**config["gaug"])
            else:
                _node_config(config["train"], setup.metric)
            if setup.method == "gaug-m":
                gaug = config["gaug"]
                check_int("draw", gaug.get("draw", 0), 0)
                check_float("rm_pct", gaug.get("rm_pct", 0), 0.0, 100.0)
                check_float("add_pct", gaug.get("add_pct", 0), 0.0)
            if setup.glt:
                from ..sparsify.methods import MethodSetup, method_class

                method_setup = MethodSetup(dataset=setup.dataset, preset=setup.preset, task="node")
                method_class(setup.method).configure(method_setup, **config["method"])
        except (TypeError, ValueError) as err:
            changed = ", ".join(f"{k}={v!r}" for k, v in values.items() if any(p.name == k for p in space.searched))
            shown = f" (a trial with {changed})" if changed else ""
            raise ValueError(f"{where}: a value the search can suggest is refused{shown}: {err}") from None


# ---------------------------------------------------------------------------------------------- the objective
class _CurveReporter:
    """Reports each run's validation curve to an Optuna trial and prunes when its pruner says so."""

    def __init__(self, trial: Any, stride: int) -> None:
        self.trial, self.stride = trial, max(int(stride), 1)
        # every write goes to the study's storage: about 20 reports per run are plenty for a median pruner
        self.every = max(self.stride // 20, 1)

    def _check(self, value: float, step: int) -> None:
        import optuna

        self.trial.report(value, step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} (validation {value:.4f})")

    def for_seed(self, index: int) -> Callable[[int, Any], None]:
        best = [float("-inf")]

        def on_epoch(epoch: int, validation: Any) -> None:
            best[0] = max(best[0], float(validation.score))
            if epoch % self.every == 0:
                self._check(best[0], index * self.stride + epoch)

        return on_epoch

    def levels(self) -> Callable[[Any], None]:
        seen: list[float] = []

        def on_level(level: Any) -> None:
            seen.append(float(level.val_mean))
            self._check(statistics.fmean(seen), int(level.round))

        return on_level


def make_objective(setup: TuneSetup, graph: Graph, space: SearchSpace, trial_seeds: int) -> Callable[[Any], float]:
    """The Optuna objective: the mean validation score of ``trial_seeds`` runs of the trial's configuration.

    The runs use seeds 20000.. on ``graph`` — which must be the tuning graph: this function reads nothing but
    validation scores, and the tuning graph holds no test labels to read. Each trial records its worker
    (host:pid), the per-seed validation scores and the epochs it ran.
    """
    seeds = [TRIAL_SEED_BASE + i for i in range(trial_seeds)]
    worker = f"{platform.node()}:{os.getpid()}"

    def objective(trial: Any) -> float:
        trial.set_user_attr("worker", worker)
        values = space.suggest(trial)
        reporter = _CurveReporter(trial, setup.epochs)
        if setup.glt:
            levels = run_config(setup, graph, values, space, seeds, on_level=reporter.levels())
            vals = [float(level.val_mean) for level in levels if level.method == setup.method]
        else:
            rows = run_config(setup, graph, values, space, seeds, on_epoch=reporter.for_seed)
            vals = [score_of(row, "val", setup.metric) for row in rows]
        trial.set_user_attr("val_scores", vals)
        return statistics.fmean(vals)

    return objective
