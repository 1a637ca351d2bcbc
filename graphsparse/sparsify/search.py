r"""Graph lottery ticket search over matched graph/weight sparsity levels, resumable through a results store.

Level :math:`k` of the schedule prunes graph sparsity :math:`1-(1-p_g)^k` and weight sparsity
:math:`1-(1-p_w)^k` (:func:`glt_levels`). :func:`glt_search` yields one
:class:`~graphsparse.sparsify.records.LevelResult` per (method, level), after a dense baseline (method
``"dense"``, round 0). The methods are :class:`~graphsparse.sparsify.methods.GLTMethod` objects (or registered
names, built with their dataclass defaults); the search reads only what the protocol says of them (one-shot or
iterative, whether they want a distillation teacher, their store-key tag) and never their names.

**Work units.** The search is a plan of units, one per (method, level, seed) (:mod:`.units`), run by an
executor (:mod:`graphsparse.parallel`): serially here by default, or on Ray workers. One-shot levels are
independent; an iterative method is one chain of rounds per seed (round k needs round k-1's state; seeds run
side by side). A method that asks for a teacher waits for its seed's dense outputs: the dense baseline unit's
when the dense level is trained in this run (the same training), otherwise a teacher unit. The driver alone
writes the store: every finished seed is committed as it arrives (:func:`part_key`), every finished level under
its own key before it is yielded; a rerun with the same dataset (by content: :meth:`Graph.fingerprint`), model,
method options, level, seeds and training configuration loads both instead of recomputing, so a killed search
continues where it stopped and ends with the results an uninterrupted run gives.

**Trainer.** ``task`` is any :class:`~graphsparse.tasks.glt.GLTTask` (full-batch node classification by
default, built from ``graph``, ``config`` and ``split``; link prediction; Cluster-GCN batches).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from ..graph import SCHEMA_VERSION, Graph
from ..parallel import Executor, SerialExecutor
from ..tasks.glt import GLTTask, NodeGLTTask
from ..tasks.node import NodeTrainConfig
from ..utils import seed_everything
from .edges import check_sparsity
from .methods import GLTMethod, SeedJob, method_class
from .records import DENSE_LEVEL, Level, LevelResult, SeedOutcome, SeedRun, Teacher, TicketMaterial
from .ticket import Ticket, save_atomic
from .units import DenseBaseline, SearchContext, method_unit, teacher_unit

__all__ = ["glt_levels", "glt_search", "retrain_ticket", "part_key", "resolve_methods", "LevelStore"]


class LevelStore(Protocol):
    """What the search needs of a results store (:class:`graphsparse.experiments.store.ResultsStore`)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The payload committed under ``key``, or None."""

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Commit a finished unit of work under ``key``."""

    def get_part(self, key: str) -> dict[str, Any] | None:
        """The payload of the part under ``key``, or None."""

    def put_part(self, key: str, payload: dict[str, Any]) -> None:
        """Commit one finished piece of an unfinished unit."""

    def delete_parts(self, keys: list[str]) -> None:
        """Remove the parts under ``keys`` (their unit is committed)."""


def glt_levels(rounds: int, pg: float, pw: float) -> list[Level]:
    """The schedule ``[(k, 1-(1-pg)^k, 1-(1-pw)^k) for k in 1..rounds]``.

    Args:
        rounds: number of levels (>= 1).
        pg: graph pruning rate per round, in [0, 1).
        pw: weight pruning rate per round, in [0, 1).

    Returns:
        One :class:`Level` per round.

    Raises:
        ValueError: a value out of range.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    pg = check_sparsity(pg, "pg (graph pruning rate per round)")
    pw = check_sparsity(pw, "pw (weight pruning rate per round)")
    return [Level(k, 1.0 - (1.0 - pg) ** k, 1.0 - (1.0 - pw) ** k) for k in range(1, rounds + 1)]


def resolve_methods(methods: str | GLTMethod | Sequence[str | GLTMethod]) -> list[GLTMethod]:
    """Method objects from objects, registered names or ``module:Class`` specs (names: dataclass defaults).

    Raises:
        ValueError: none given, unknown names, or a method listed twice.
    """
    if isinstance(methods, (str, GLTMethod)):
        methods = methods.split(",") if isinstance(methods, str) else [methods]
    out = [m if isinstance(m, GLTMethod) else method_class(m)() for m in methods if not isinstance(m, str) or m.strip()]
    if not out:
        raise ValueError("no GLT method given")
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise ValueError(f"GLT methods listed twice: {', '.join(names)}")
    return out


def _check_levels(levels: Sequence[Sequence[Any]]) -> list[Level]:
    out = []
    for level in levels:
        if len(level) != 3:
            raise ValueError(f"a GLT level is (round, graph_sparsity, weight_sparsity), got {level!r}")
        k, gs, ws = level
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"GLT level round must be an int >= 1, got {k!r}")
        out.append(Level(k, check_sparsity(gs, "graph sparsity"), check_sparsity(ws, "weight sparsity")))
    return out


def _config_hash(task: GLTTask, model: nn.Module) -> str:
    blob = json.dumps({"task": task.describe(), "model": repr(model)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def part_key(level_key: str, seed: int) -> str:
    """Store key of one seed's result within a level (committed as it arrives; a rerun skips it)."""
    return f"part|{level_key}|seed={int(seed)}"


@dataclass
class _PlannedLevel:
    """One (method, level) of the plan: its store key and the outcomes of its seeds as they arrive."""

    method: GLTMethod
    level: Level
    key: str
    runs: list[SeedRun | None]
    states: list[dict[str, Any] | None]
    materials: list[TicketMaterial | None]
    result: LevelResult | None = None  # set when the level is finished (stored or computed)

    @property
    def complete(self) -> bool:
        return all(r is not None for r in self.runs)


@dataclass
class _Search:
    """The driver's state: context, store, tickets, and the plan."""

    ctx: SearchContext
    store: LevelStore | None
    seeds: list[int]
    progress: Callable[[LevelResult], None] | None
    ticket_dir: Path | None
    provenance: dict[str, Any]
    plan: list[_PlannedLevel] = field(default_factory=list)

    def finish(self, unit: _PlannedLevel, result: LevelResult, cached: bool) -> None:
        """The level committed (when computed here), its tickets written, then reported.

        The level goes into the store before any ticket file is written, so a failing ticket folder (a full disk)
        costs the tickets, never the trained level; the ticket paths are committed once they are written.
        """
        if not cached and self.store is not None:
            self.store.put(unit.key, result.to_payload())
            self.store.delete_parts([part_key(unit.key, s) for s in self.seeds])  # the level holds what they held
        if self.ticket_dir is not None:
            try:
                changed = self._write_tickets(unit, result, cached)
            except OSError as error:
                raise OSError(
                    error.errno,
                    f"level {unit.method.name} round {unit.level.round} is stored, but its tickets could not be "
                    f"written under {self.ticket_dir} ({error.strerror or error}); free space and rerun the same "
                    "command: the stored levels are loaded and their tickets written",
                ) from None
            if (changed or not cached) and self.store is not None:
                self.store.put(unit.key, result.to_payload())
        unit.result = replace(result, cached=cached, key=unit.key, label=unit.method.label, materials=[])
        if self.progress is not None:
            self.progress(unit.result)

    def commit(self, unit: _PlannedLevel) -> None:
        task = self.ctx.task
        runs = [r for r in unit.runs if r is not None]
        result = LevelResult.from_runs(
            unit.method.name, unit.level, runs, self.seeds, task=task.name, metric=task.metric
        )
        if unit.method.iterative:
            result.states = list(unit.states)  # what the next round needs to resume
        result.materials = list(unit.materials)
        self.finish(unit, result, cached=False)

    def _write_tickets(self, unit: _PlannedLevel, result: LevelResult, cached: bool) -> bool:
        """Write the level's tickets and record their paths in ``result.tickets``.

        The tickets come from trained material where this run trained the seed, else are re-derived without
        training. Returns whether the stored level must be committed again (its ticket paths changed).
        """
        assert self.ticket_dir is not None
        k = unit.level.round
        folder = self.ticket_dir / unit.method.name / f"round{k}"
        wanted = [str(folder / f"seed{s}" / "ticket.pt") for s in self.seeds]
        if cached and result.tickets == wanted and all(_ticket_of(t, unit.key) for t in wanted):
            return False
        materials = list(result.materials or [None] * len(self.seeds))
        states = result.states or [None] * len(self.seeds)
        for i, seed in enumerate(self.seeds):
            if materials[i] is None:
                job = SeedJob(unit.level, i, seed, state=states[i])
                material = unit.method.rederive(self.ctx, job)
                material.test = result.test_scores[i] if i < len(result.test_scores) else None
                materials[i] = material
        cls = type(unit.method)
        # the class's import path too: a plug-in method's ticket can be retrained where it is not registered
        where = f"{cls.__module__}:{cls.__qualname__}"
        provenance = dict(self.provenance, **unit.method.describe(), key=unit.key, method_class=where)
        result.tickets = [_save_ticket(folder, unit.method.name, unit.level, m, provenance) for m in materials]
        return cached


def _ticket_of(path: str, key: str) -> bool:
    """Whether ``path`` is a whole ticket of the level stored under ``key``.

    Another search may have written the same ``--save-tickets`` folder since (its level keys differ), or a file
    may be damaged: either is written again rather than recorded.
    """
    from ..validation import FileProblem

    if not Path(path).is_file():
        return False
    try:
        return Ticket.load(path).provenance.get("key") == key
    except (FileProblem, ValueError):
        return False


def _save_ticket(folder: Path, method: str, level: Level, m: TicketMaterial, provenance: dict[str, Any]) -> str:
    """Write ``folder/seed<s>/ticket.pt`` (+ ``trained.pt`` when the trained state is known); returns its path."""
    k, gs, ws = level
    out = folder / f"seed{m.seed}"
    out.mkdir(parents=True, exist_ok=True)
    run = m.run
    info = dict(
        provenance,
        method=method,
        round=int(k),
        target_graph_sparsity=float(gs),
        target_weight_sparsity=float(ws),
        seed=m.seed,
        seed_index=m.seed_index,
        weight_rule=m.weight_rule,
        val=None if run is None else run.val,
        test=m.test,
        best_epoch=None if run is None else run.best_epoch,
        trained=None,
    )
    if m.trained_state is not None:
        save_atomic(m.trained_state, out / "trained.pt")
        info["trained"] = "trained.pt"
    Ticket.from_model(m.edge_keep, m.weight_masks, m.init_state, **info).save(out / "ticket.pt")
    return str(out / "ticket.pt")


def glt_search(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    *,
    methods: str | GLTMethod | Sequence[str | GLTMethod],
    levels: Sequence[Sequence[Any]],
    seeds: Sequence[int] = (0,),
    task: GLTTask | None = None,
    config: NodeTrainConfig | None = None,
    split: str | None = None,
    store: LevelStore | None = None,
    key_prefix: str = "glt",
    progress: Callable[[LevelResult], None] | None = None,
    device: torch.device | str = "cpu",
    dense: bool = True,
    ticket_dir: str | os.PathLike[str] | None = None,
    ticket_provenance: dict[str, Any] | None = None,
    executor: Executor | None = None,
) -> Iterator[LevelResult]:
    """Yield the dense baseline (``dense=True``), then one result per (method, level), methods in order.

    Args:
        graph: the graph (its content fingerprint is part of every store key).
        model_factory: builds the model; called after ``seed_everything(seed)``, so its weights are θ0.
        methods: method objects, registered names or ``module:Class`` specs (a comma-separated string too).
        levels: the schedule, e.g. :func:`glt_levels`; iterative methods need rounds 1..K.
        seeds: the seeds; each level reports the mean and (population) std over them.
        task: the trainer (default: full-batch :class:`NodeGLTTask` of ``graph``, ``config``, ``split``).
        config: node training options of the default trainer.
        split: split name of the default trainer.
        store: the results store; levels and finished seeds are committed as they finish and loaded on a rerun.
        key_prefix: what the store keys start with (name the dataset and model).
        progress: called with each finished level (in order when serial; as they complete on workers).
        device: where models train.
        dense: compute the dense baseline first.
        ticket_dir: save every level's ticket of every seed as ``<dir>/<method>/round<k>/seed<s>/ticket.pt``
            (trained weights beside it as ``trained.pt`` when this run trained them); paths go into the store.
        ticket_provenance: added to every ticket's provenance (e.g. the dataset and model names).
        executor: runs the units (default: serially, in this process).

    Returns:
        An iterator of :class:`LevelResult`; ``cached`` says whether a level came from the store.

    Raises:
        ValueError: no method, level or seed, or a schedule a method cannot run.
    """
    chosen = resolve_methods(methods)
    levels = _check_levels(levels)
    if not levels:
        raise ValueError("glt_search needs at least one level, e.g. glt_levels(rounds, pg, pw)")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("glt_search needs at least one seed")
    for method in chosen:
        method.check_levels(levels)
    task = task if task is not None else NodeGLTTask(graph, config, split)
    ctx = SearchContext(task, model_factory, device)
    seed_everything(seeds[0])
    digest = _config_hash(task, model_factory())
    ticket_path = None if ticket_dir is None else Path(ticket_dir).absolute()
    provenance: dict[str, Any] = {}
    if ticket_path is not None:
        provenance = {
            "dataset": task.graph_name,
            "task": task.name,
            "metric": task.metric,
            "task_config": json.dumps(task.describe(), sort_keys=True, default=str),
            **dict(ticket_provenance or {}),
        }
    search = _Search(ctx, store, seeds, progress, ticket_path, provenance)
    data_tag = f"data={graph.fingerprint()[:24]}|schema={SCHEMA_VERSION}"  # once: every level's key holds it
    key_of = functools.partial(_level_key, key_prefix, task.graph_name, data_tag, seeds, digest, levels)

    def planned(method: GLTMethod, level: Level) -> _PlannedLevel:
        n = len(seeds)
        return _PlannedLevel(method, level, key_of(method, level), [None] * n, [None] * n, [None] * n)

    search.plan = [planned(DenseBaseline(), DENSE_LEVEL)] if dense else []
    search.plan += [planned(m, level) for m in chosen for level in levels]
    yield from _run(search, executor if executor is not None else SerialExecutor(), chosen)


def _level_key(
    key_prefix: str,
    graph_name: str,
    data_tag: str,
    seeds: Sequence[int],
    digest: str,
    schedule: Sequence[Level],
    method: GLTMethod,
    level: Level,
) -> str:
    k, gs, ws = level
    seed_tag = ",".join(map(str, seeds))
    return (
        f"{key_prefix}|{graph_name}|{data_tag}|{method.name}|round={k}|pg={gs:.6f}|pw={ws:.6f}|seeds={seed_tag}"
        f"|cfg={digest}{method.key_tag(schedule, level)}"
    )


def _run(search: _Search, executor: Executor, chosen: list[GLTMethod]) -> Iterator[LevelResult]:
    """Submit every unit not in the store, commit and yield levels in plan order as they complete."""
    store, seeds, task = search.store, search.seeds, search.ctx.task
    wants_teacher = any(m.teacher_weight > 0 for m in chosen)
    ctx_handle = executor.put(search.ctx)
    want_material = search.ticket_dir is not None
    teachers: dict[int, Any] = {}  # per seed: the handle of the outcome holding the dense outputs
    chains: dict[tuple[str, int], Any] = {}  # iterative methods, per seed: the last round's outcome or handle
    pending: dict[Any, tuple[_PlannedLevel, int]] = {}
    for unit in search.plan:
        name, iterative = unit.method.name, unit.method.iterative
        stored = store.get(unit.key) if store is not None else None
        if stored is not None:
            # parts left by a run killed between committing this level and deleting them
            store.delete_parts([part_key(unit.key, s) for s in seeds])
            result = LevelResult.from_payload(stored, task=task.name, metric=task.metric)
            if iterative:
                for i, state in enumerate(result.states or []):
                    chains[(name, i)] = SeedOutcome(state=state)
            search.finish(unit, result, cached=True)
            continue
        for i, seed in enumerate(seeds):
            part = store.get_part(part_key(unit.key, seed)) if store is not None else None
            if part is not None:
                unit.runs[i], unit.states[i] = SeedRun.from_dict(part["run"]), part.get("method_state")
                if iterative:
                    chains[(name, i)] = SeedOutcome(state=unit.states[i])
                continue
            job = SeedJob(unit.level, i, seed, want_material=want_material)
            teacher = None
            if isinstance(unit.method, DenseBaseline) and wants_teacher:
                # the dense baseline is the seed's teacher too: one training serves both
                job = replace(job, want_outputs=True)
            elif unit.method.teacher_weight > 0:
                if i not in teachers:
                    teachers[i] = executor.submit(teacher_unit, ctx_handle, i, seed)
                teacher = teachers[i]
            previous = chains.get((name, i)) if iterative else None
            handle = executor.submit(method_unit, ctx_handle, unit.method, job, teacher, previous)
            if isinstance(unit.method, DenseBaseline) and wants_teacher:
                teachers[i] = handle
            if iterative:
                chains[(name, i)] = handle
            pending[handle] = (unit, i)
        if unit.complete:  # every seed was stored as a part: the level only needs committing
            search.commit(unit)

    emitted = 0

    def ready() -> Iterator[LevelResult]:
        nonlocal emitted
        while emitted < len(search.plan) and search.plan[emitted].result is not None:
            emitted += 1
            yield search.plan[emitted - 1].result

    yield from ready()
    for handle, outcome in executor.as_completed(list(pending)):
        unit, i = pending.pop(handle)
        unit.runs[i], unit.materials[i], unit.states[i] = outcome.run, outcome.material, outcome.state
        if store is not None and not unit.complete:  # the last seed of a level goes in with the level itself
            part: dict[str, Any] = {"run": outcome.run.to_dict()}
            if outcome.state is not None:
                part["method_state"] = outcome.state
            store.put_part(part_key(unit.key, seeds[i]), part)
        if unit.complete:
            search.commit(unit)
            yield from ready()
    yield from ready()


def _ticket_method(provenance: dict[str, Any]) -> GLTMethod:
    """The method a ticket's provenance names, with its recorded options (registered, or by its import path)."""
    name = str(provenance.get("method"))
    try:
        cls = method_class(name)
    except ValueError:
        where = provenance.get("method_class")
        if not isinstance(where, str) or ":" not in where:
            raise
        cls = method_class(where)
    return cls.from_provenance(provenance)


def retrain_ticket(
    ticket: Ticket,
    task: GLTTask,
    model_factory: Callable[[], nn.Module],
    *,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, Any], nn.Module]:
    """Retrain a ticket written by :func:`glt_search` as the search trained it.

    θ0 (the model built after ``seed_everything(seed)``, then the ticket's θ0 loaded), the ticket's edges of
    ``task.graph_for_seed``, the weight rule (fixed masks re-applied after every step, or the l0 projection at the
    level's weight sparsity) and, for a method that distils, the dense teacher of the seed (trained here).

    Args:
        ticket: a saved ticket (its provenance names the method, seed and weight rule).
        task: the trainer the search used.
        model_factory: builds the model the search built.
        device: where to train.

    Returns:
        ``task.fit``'s result (``val``, ``test``, ...) and the trained model; on CPU the numbers are the search's.

    Raises:
        ValueError: the ticket does not fit the model, or names an unknown method.
    """
    p = ticket.provenance
    seed, i = int(p["seed"]), int(p["seed_index"])
    ctx = SearchContext(task, model_factory, device)
    graph = task.graph_for_seed(i, seed)
    pruned = graph if bool(ticket.edge_keep_mask.all()) else ticket.apply_to_graph(graph)
    # round 0 is the dense baseline's level: the unregistered DenseBaseline, not a method to look up
    method = DenseBaseline() if p.get("round") == DENSE_LEVEL.round else _ticket_method(p)
    teacher = None
    if method.teacher_weight > 0:
        teacher = Teacher(ctx.dense_outputs(i, seed).to(device), method.teacher_weight)
    model = ctx.build(seed)
    rule = p.get("weight_rule", "masks")
    after_step = None
    if rule == "masks":
        ticket.apply_to_model(model)
        if ticket.weight_masks:
            from .weights import apply_weight_masks

            after_step = functools.partial(apply_weight_masks, masks=ticket.weight_masks)
    else:  # "l0" (the masks are re-derived by the projection) or "none" (dense): θ0 as it is
        missing = sorted(set(model.state_dict()) ^ set(ticket.init_state))
        if missing:
            raise ValueError(f"ticket initial state does not match the model ({', '.join(missing)})")
        model.load_state_dict(ticket.init_state)
        if rule == "l0":
            from .weights import l0_projection

            after_step = functools.partial(l0_projection, sparsity=float(p["target_weight_sparsity"]))
            after_step(model)
    result = task.fit(pruned, model, seed=seed, seed_index=i, after_step=after_step, teacher=teacher)
    return result, model
