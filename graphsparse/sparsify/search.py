r"""Graph lottery ticket search over matched graph/weight sparsity levels, resumable through a results store.

Level :math:`k` of the schedule prunes graph sparsity :math:`1-(1-p_g)^k` and weight sparsity
:math:`1-(1-p_w)^k` (:func:`glt_levels`). :func:`glt_search` yields one result per (method, level), plus a
dense baseline (method ``"dense"``, round 0) first:

- ``"teddy"`` (Seo et al., ICLR 2024): TEDDY edge scores computed once on the original graph, so the edge
  masks of successive levels are nested; the weights are projected onto the l0 ball of the level's weight
  sparsity after every optimizer step (projected gradient descent), training from the same θ0 per seed.
- ``"ugs"`` (Chen et al., ICML 2021; :mod:`graphsparse.sparsify.ugs`): one round per level, in order (levels
  must be rounds 1..K with non-decreasing sparsity). Round k trains learnable edge/weight masks from θ0 under
  round k-1's binary masks (CE + s1·|m_g|_1 + s2·|m_θ|_1), binarises them at the best-validation epoch down to
  level k's targets, rewinds to θ0 and retrains the ticket to score it. The binary masks of every seed are
  committed with the round (``ugs_state`` in the stored payload), so a killed UGS search resumes at the next
  round.
- ``"teddy"`` with ``distill=λ > 0``: a dense teacher per seed (trained on the unpruned graph from the same
  θ0) and the loss CE + λ·KL(teacher soft labels ‖ student) over all nodes.
- ``"random"``: random edge scores (generator seeded with the run's seed, so masks are nested across levels)
  and a random weight mask of the level's sparsity, re-applied after every optimizer step.

**Work units.** The search is a plan of units, one per (method, level, seed) (:mod:`.glt_units`), run by an
executor (:mod:`graphsparse.parallel`): serially here by default, or on Ray workers (``executor=``). One-shot
levels (dense, TEDDY, random) are independent; a distilled TEDDY level waits for its seed's teacher (the seed's
dense baseline unit when the dense level is computed in this run: the same training); UGS is one
chain of rounds per seed (round k needs round k-1's binary masks; seeds are independent, so with S seeds S
chains run side by side — a round is minutes of training, so a task per round costs nothing and lets each round
be committed and retried on its own). The driver alone writes the store: every finished seed is committed as it
arrives (:func:`part_key`), every finished (method, level) with ``store.put(key, payload)`` before it is
yielded; a rerun with the same dataset, model, method, level, seeds and training config loads both instead of
recomputing, so a killed search continues where it stopped and ends with the results an uninterrupted run
gives. "The same dataset" is
checked by content: the key holds :meth:`Graph.fingerprint` of ``graph`` and
:data:`graphsparse.graph.SCHEMA_VERSION`, so a rerun on changed data (or under a new result schema) recomputes.

**Task protocol.** The search is task-agnostic: ``glt_search(..., task=...)`` takes any object implementing
:class:`graphsparse.sparsify.task.GLTTask` (default: :class:`~graphsparse.sparsify.task.NodeGLTTask` built from
``graph``, ``config`` and ``split``):

- ``task.name`` / ``task.metric`` (``"acc"``, ``"auc"``) / ``task.graph_name`` / ``task.describe()`` (hashed
  into the store key) / ``task.distill`` (λ of the distillation term, set from ``distill=``);
- ``task.graph_for_seed(seed_index, seed) -> Graph``: the graph of that seed; its undirected edges are the
  prunable ones (a link task returns the seed's training graph, held-out edges removed);
- ``task.fit(graph, model, *, seed, seed_index, edge_values=None, extra_loss=None, after_step=None,
  teacher=None) -> {"val": float, "test": float, "best_state": state_dict, ...}``: train from the model's
  current weights (θ0), select the epoch by validation, leave the model in the selected state;
- ``task.predict(graph, model) -> Tensor``: a dense teacher's outputs, handed back to ``fit`` as ``teacher``
  when ``distill > 0``.

The search builds the model (``seed_everything(seed)`` then ``model_factory()``: θ0), prunes edges by id
(``graph.keep_edges``) and masks weights, then calls ``task.fit``; the reported ``test_acc_*`` are the task's
metric (accuracy for node classification, ROC-AUC for link prediction).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..graph import SCHEMA_VERSION, Graph
from ..parallel import Executor, SerialExecutor
from ..tasks.node import NodeTrainConfig
from ..utils import seed_everything
from ..validation import check_float
from .edges import check_sparsity
from .glt_units import (
    SearchContext,
    cached_material,
    oneshot_unit,
    random_weight_masks,
    teacher_unit,
    ugs_round_unit,
)
from .task import NodeGLTTask
from .ticket import Ticket
from .ugs import UGS_INIT_NOISE, UGS_S1, UGS_S2
from .weights import apply_weight_masks, l0_projection

__all__ = [
    "GLT_METHODS",
    "glt_levels",
    "check_methods",
    "random_weight_masks",
    "glt_search",
    "retrain_ticket",
    "part_key",
]

GLT_METHODS = ("teddy", "ugs", "random")
_PLANNED: dict[str, str] = {}

Level = tuple[int, float, float]


def glt_levels(rounds: int, pg: float, pw: float) -> list[Level]:
    """``[(k, 1-(1-pg)^k, 1-(1-pw)^k) for k in 1..rounds]``: round, graph sparsity, weight sparsity."""
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    pg = check_sparsity(pg, "pg (graph pruning rate per round)")
    pw = check_sparsity(pw, "pw (weight pruning rate per round)")
    return [(k, 1.0 - (1.0 - pg) ** k, 1.0 - (1.0 - pw) ** k) for k in range(1, rounds + 1)]


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """Method names, lower-cased and checked; a comma-separated string is split."""
    if isinstance(methods, str):
        methods = methods.split(",")
    names = [str(m).strip().lower() for m in methods if str(m).strip()]
    if not names:
        raise ValueError(f"no GLT method given; available methods: {', '.join(GLT_METHODS)}")
    for name in names:
        if name in _PLANNED:
            raise ValueError(f"GLT method {name!r}: {_PLANNED[name]}; available methods: {', '.join(GLT_METHODS)}")
        if name not in GLT_METHODS:
            raise ValueError(f"unknown GLT method {name!r}; available methods: {', '.join(GLT_METHODS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"GLT methods listed twice: {', '.join(names)}")
    return names


def _check_levels(levels: Sequence[Level]) -> list[Level]:
    out = []
    for level in levels:
        if len(level) != 3:
            raise ValueError(f"a GLT level is (round, graph_sparsity, weight_sparsity), got {level!r}")
        k, gs, ws = level
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"GLT level round must be an int >= 1, got {k!r}")
        out.append((k, check_sparsity(gs, "graph sparsity"), check_sparsity(ws, "weight sparsity")))
    return out


def _check_ugs_levels(levels: Sequence[Level]) -> None:
    """UGS runs one round per level, in order: rounds must be 1, 2, ... and sparsities must not decrease."""
    if [k for k, _, _ in levels] != list(range(1, len(levels) + 1)):
        raise ValueError(f"UGS runs its rounds in order: level rounds must be 1..{len(levels)}, got {levels!r}")
    for (_, g0, w0), (k, g1, w1) in zip(levels, levels[1:]):
        if g1 < g0 or w1 < w0:
            raise ValueError(f"UGS level sparsities must not decrease (round {k}: {g1}/{w1} after {g0}/{w0})")


def _config_hash(task: Any, model: nn.Module) -> str:
    blob = json.dumps({"task": task.describe(), "model": repr(model)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _unit_result(method: str, level: Level, runs: list[dict[str, Any]], seeds: Sequence[int]) -> dict:
    """A level's payload from its seeds' runs; ``seconds`` is the training time summed over the seeds."""
    k, gs, ws = level
    tests = [float(r["test"]) for r in runs]
    vals = [float(r["val"]) for r in runs]
    return {
        "method": method,
        "round": k,
        "target_graph_sparsity": gs,
        "target_weight_sparsity": ws,
        "graph_sparsity": float(np.mean([r["graph_sparsity"] for r in runs])),
        "weight_sparsity": float(np.mean([r["weight_sparsity"] for r in runs])),
        "test_acc_mean": float(np.mean(tests)),
        "test_acc_std": float(np.std(tests)),
        "val_acc_mean": float(np.mean(vals)),
        "val_acc_std": float(np.std(vals)),
        "test_accs": tests,
        "seeds": [int(s) for s in seeds],
        "seconds": float(sum(r.get("seconds", 0.0) for r in runs)),
    }


def _write_tickets(
    ticket_dir: Path,
    method: str,
    level: Level,
    materials: list[dict[str, Any]],
    provenance: dict[str, Any],
) -> list[str]:
    """Write ``ticket_dir/<method>/round<k>/seed<s>/ticket.pt`` (+ ``trained.pt``, the trained state dict, when
    known); returns the ticket paths."""
    k, gs, ws = level
    paths = []
    for m in materials:
        folder = ticket_dir / method / f"round{k}" / f"seed{m['seed']}"
        folder.mkdir(parents=True, exist_ok=True)
        info = dict(
            provenance,
            method=method,
            round=int(k),
            target_graph_sparsity=float(gs),
            target_weight_sparsity=float(ws),
            seed=m["seed"],
            seed_index=m["seed_index"],
            weight_rule=m["weight_rule"],
            val=m["val"],
            test=m["test"],
            best_epoch=None if m["best_epoch"] is None else int(m["best_epoch"]),
            trained=None,
        )
        if m["trained_state"] is not None:
            torch.save(m["trained_state"], folder / "trained.pt")
            info["trained"] = "trained.pt"
        ticket = Ticket.from_model(m["edge_keep"], m["weight_masks"], m["init_state"], **info)
        ticket.save(folder / "ticket.pt")
        paths.append(str(folder / "ticket.pt"))
    return paths


def retrain_ticket(
    ticket: Ticket,
    task: Any,
    model_factory: Callable[[], nn.Module],
    *,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, Any], nn.Module]:
    """Retrain a ticket written by :func:`glt_search` as the search trained it: θ0 (the model built after
    ``seed_everything(seed)``, as the search builds it, then θ0 loaded), the ticket's edges of
    ``task.graph_for_seed``, the weight rule (fixed masks re-applied after every step, or TEDDY's l0 projection
    at the level's weight sparsity) and, for TEDDY with ``task.distill > 0``, the dense teacher of the seed.
    Returns ``task.fit``'s result (``val``, ``test``, ...) and the trained model; on CPU the numbers are the
    search's."""
    p = ticket.provenance
    seed, i = int(p["seed"]), int(p["seed_index"])
    ctx = SearchContext(task, model_factory, device)
    graph = task.graph_for_seed(i, seed)
    pruned = graph if bool(ticket.edge_keep_mask.all()) else ticket.apply_to_graph(graph)
    teacher = ctx.teacher(i, seed, graph) if p.get("method") == "teddy" else None
    model = ctx.build(seed)
    rule = p.get("weight_rule", "masks")
    after_step = None
    if rule == "masks":
        ticket.apply_to_model(model)
        if ticket.weight_masks:
            after_step = functools.partial(apply_weight_masks, masks=ticket.weight_masks)
    else:  # "l0" (TEDDY: the masks are re-derived by the projection) or "none" (dense): θ0 as it is
        missing = sorted(set(model.state_dict()) ^ set(ticket.init_state))
        if missing:
            raise ValueError(f"ticket initial state does not match the model ({', '.join(missing)})")
        model.load_state_dict(ticket.init_state)
        if rule == "l0":
            after_step = functools.partial(l0_projection, sparsity=float(p["target_weight_sparsity"]))
            after_step(model)
    result = task.fit(pruned, model, seed=seed, seed_index=i, after_step=after_step, teacher=teacher)
    return result, model


def part_key(level_key: str, seed: int) -> str:
    """Store key of one seed's result within a level (committed as it arrives; a rerun skips it)."""
    return f"part|{level_key}|seed={int(seed)}"


class _Level:
    """One (method, level) of the plan: its store key and the runs of its seeds as they arrive."""

    def __init__(self, method: str, level: Level, key: str, seeds: Sequence[int]) -> None:
        self.method, self.level, self.key = method, level, key
        self.runs: list[dict[str, Any] | None] = [None] * len(seeds)
        self.materials: list[dict[str, Any] | None] = [None] * len(seeds)
        self.ugs_states: list[dict[str, Any] | None] = [None] * len(seeds)
        self.payload: dict[str, Any] | None = None  # set when the level is finished (stored or computed)

    @property
    def complete(self) -> bool:
        return all(r is not None for r in self.runs)


def glt_search(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    methods: str | Sequence[str] = GLT_METHODS,
    levels: Sequence[Level] = (),
    seeds: Sequence[int] = (0,),
    config: NodeTrainConfig | None = None,
    store: Any = None,
    key_prefix: str = "glt",
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    split: str | None = None,
    device: torch.device | str = "cpu",
    dense: bool = True,
    task: Any = None,
    distill: float = 0.0,
    s1: float = UGS_S1,
    s2: float = UGS_S2,
    ticket_dir: str | os.PathLike[str] | None = None,
    ticket_provenance: dict[str, Any] | None = None,
    executor: Executor | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the dense baseline (``dense=True``), then one result per (method, level), methods in order.

    Each result holds ``method``, ``round``, ``graph_sparsity`` (fraction of undirected edges removed),
    ``weight_sparsity`` (zeroed / total counted weights, measured on the trained models), ``test_acc_mean``,
    ``test_acc_std``, ``val_acc_mean``, ``seconds`` (training time summed over the seeds) and the per-seed
    ``test_accs``; ``cached`` tells whether it was loaded from ``store``. ``progress(result)`` is called as each
    level finishes (in order when serial; as they complete on parallel workers). ``key_prefix`` should name the
    dataset and model (the key adds the graph's name and content fingerprint, the result schema version,
    method, level, seeds and a hash of config and model).

    ``executor`` (:mod:`graphsparse.parallel`; default serial, in this process) runs the units: one per
    (method, level, seed), a dense teacher per seed when distilling (the dense baseline's unit, unless that level
    was loaded from the store), and UGS as one chain of rounds per seed.
    Every finished seed is committed to ``store`` as it arrives (:func:`part_key`), every finished level under
    its own key; a rerun loads both and runs only what is missing. Results are identical whichever executor ran
    them.

    ``ticket_dir``: each level's ticket of every seed is saved as a :class:`~graphsparse.sparsify.Ticket` in
    ``ticket_dir/<method>/round<k>/seed<s>/ticket.pt`` (edge keep-mask over the seed graph's edge ids, weight
    masks, θ0, provenance: method, round, seed, sparsities, val/test, the task's configuration and
    ``ticket_provenance``, e.g. the dataset and model name), with the trained state dict beside it
    (``trained.pt``), and the paths go into the level's payload (``tickets``) in the store. A level loaded from
    the store is written too, re-derived without training (no ``trained.pt``; a TEDDY ticket then holds no weight
    masks: its retraining re-derives them by the l0 projection). :func:`retrain_ticket` retrains a saved ticket
    exactly as the search did.
    """
    names = check_methods(methods)
    levels = _check_levels(levels)
    if not levels:
        raise ValueError("glt_search needs at least one level, e.g. glt_levels(rounds, pg, pw)")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("glt_search needs at least one seed")
    distill = check_float("distill (λ of the distillation term)", distill, 0.0)
    if task is None:
        task = NodeGLTTask(graph, config, split, distill=distill)
    else:
        task.distill = distill
    s1, s2 = check_float("UGS s1", s1, 0.0), check_float("UGS s2", s2, 0.0)  # finite, >= 0
    ctx = SearchContext(task, model_factory, device, s1, s2)
    seed_everything(seeds[0])
    digest = _config_hash(task, model_factory())
    if "ugs" in names:
        _check_ugs_levels(levels)
    executor = executor if executor is not None else SerialExecutor()
    ticket_path = None if ticket_dir is None else Path(ticket_dir).absolute()
    base_provenance: dict[str, Any] = {}
    if ticket_path is not None:
        base_provenance = {
            "dataset": task.graph_name,
            "task": task.name,
            "metric": task.metric,
            "task_config": json.dumps(task.describe(), sort_keys=True, default=str),
            "distill": float(distill),
            "s1": float(s1),
            "s2": float(s2),
            **dict(ticket_provenance or {}),
        }
    data_tag = f"data={graph.fingerprint()[:24]}|schema={SCHEMA_VERSION}"  # once: every level's key holds it
    key_of = functools.partial(
        _level_key, key_prefix, task.graph_name, data_tag, seeds, digest, distill, s1, s2, levels
    )
    plan = [_Level("dense", (0, 0.0, 0.0), key_of("dense", (0, 0.0, 0.0)), seeds)] if dense else []
    plan += [_Level(m, level, key_of(m, level), seeds) for m in names for level in levels]

    def finish(unit: _Level, payload: dict[str, Any], cached: bool) -> None:
        """Tickets written, the level committed (when computed here), then reported."""
        materials = payload.pop("material", None)
        if ticket_path is not None:
            payload = _with_tickets(ctx, unit, payload, materials, seeds, ticket_path, base_provenance, cached)
            if payload.pop("tickets_changed", False) and cached and store is not None:
                store.put(unit.key, payload)
        if not cached and store is not None:
            store.put(unit.key, payload)
            store.delete_parts([part_key(unit.key, seed) for seed in seeds])  # the level holds what they held
        payload = dict(payload, cached=cached)
        payload.pop("ugs_state", None)
        payload["key"] = unit.key
        unit.payload = payload
        if progress is not None:
            progress(payload)

    ctx_handle = executor.put(ctx)
    want_material = ticket_path is not None
    teachers: dict[int, Any] = {}
    ugs_previous: list[Any] = [None] * len(seeds)  # per seed: packed masks, a pending round's handle, or None
    pending: dict[Any, tuple[_Level, int]] = {}
    for unit in plan:
        stored = store.get(unit.key) if store is not None else None
        if stored is not None:
            # parts left by a run killed between committing this level and deleting them
            store.delete_parts([part_key(unit.key, seed) for seed in seeds])
            if unit.method == "ugs":
                ugs_previous = list(stored["ugs_state"])
            finish(unit, stored, cached=True)
            continue
        for i, seed in enumerate(seeds):
            part = store.get_part(part_key(unit.key, seed)) if store is not None else None
            if part is not None:
                unit.runs[i], unit.ugs_states[i] = part["run"], part.get("ugs_state")
                if unit.method == "ugs":
                    ugs_previous[i] = part["ugs_state"]
                continue
            if unit.method == "ugs":
                handle = executor.submit(
                    ugs_round_unit, ctx_handle, unit.level, i, seed, ugs_previous[i], want_material
                )
                ugs_previous[i] = handle
            elif unit.method == "dense" and distill and "teddy" in names:
                # the dense baseline is the seed's teacher too: one training serves both (see oneshot_unit)
                handle = executor.submit(
                    oneshot_unit, ctx_handle, "dense", unit.level, i, seed, None, want_material, True
                )
                teachers[i] = handle
            else:
                teacher = None
                if unit.method == "teddy" and distill:
                    if i not in teachers:
                        teachers[i] = executor.submit(teacher_unit, ctx_handle, i, seed)
                    teacher = teachers[i]
                handle = executor.submit(
                    oneshot_unit, ctx_handle, unit.method, unit.level, i, seed, teacher, want_material
                )
            pending[handle] = (unit, i)
        if unit.complete:  # every seed was stored as a part: the level only needs committing
            _commit_level(unit, seeds, store, finish)

    emitted = 0

    def ready() -> Iterator[dict[str, Any]]:
        nonlocal emitted
        while emitted < len(plan) and plan[emitted].payload is not None:
            emitted += 1
            yield plan[emitted - 1].payload

    yield from ready()
    for handle, value in executor.as_completed(list(pending)):
        unit, i = pending.pop(handle)
        unit.runs[i], unit.materials[i] = value["run"], value.get("material")
        unit.ugs_states[i] = value.get("ugs_state")
        if store is not None and not unit.complete:  # the last seed of a level goes in with the level itself
            part = {"run": value["run"]}
            if unit.ugs_states[i] is not None:
                part["ugs_state"] = unit.ugs_states[i]
            store.put_part(part_key(unit.key, seeds[i]), part)
        if unit.complete:
            _commit_level(unit, seeds, store, finish)
            yield from ready()
    yield from ready()


def _level_key(
    key_prefix: str,
    graph_name: str,
    data_tag: str,
    seeds: Sequence[int],
    digest: str,
    distill: float,
    s1: float,
    s2: float,
    levels: Sequence[Level],
    method: str,
    level: Level,
) -> str:
    k, gs, ws = level
    tag = f"|distill={distill:g}" if method == "teddy" and distill else ""
    if method == "ugs":  # a UGS round depends on every earlier round: the key names the whole schedule so far
        schedule = ",".join(f"{g:.6f}/{w:.6f}" for r, g, w in levels if r <= k)
        tag = f"|s1={s1:g}|s2={s2:g}|noise={UGS_INIT_NOISE:g}|after={schedule}"
    seed_tag = ",".join(map(str, seeds))
    return (
        f"{key_prefix}|{graph_name}|{data_tag}|{method}|round={k}|pg={gs:.6f}|pw={ws:.6f}|seeds={seed_tag}"
        f"|cfg={digest}{tag}"
    )


def _commit_level(unit: _Level, seeds: Sequence[int], store: Any, finish: Callable[..., None]) -> None:
    payload = _unit_result(unit.method, unit.level, unit.runs, seeds)
    if unit.method == "ugs":
        payload["ugs_state"] = list(unit.ugs_states)  # what the next round needs to resume
    payload["material"] = unit.materials
    finish(unit, payload, cached=False)


def _with_tickets(
    ctx: SearchContext,
    unit: _Level,
    payload: dict[str, Any],
    materials: list[dict[str, Any] | None] | None,
    seeds: Sequence[int],
    ticket_dir: Path,
    base_provenance: dict[str, Any],
    cached: bool,
) -> dict[str, Any]:
    """The level's tickets written (trained material where this run trained the seed, else re-derived without
    training) and their paths in the payload; a stored level whose tickets are all in place is left alone,
    otherwise ``tickets_changed`` asks the caller to commit it again."""
    method, level, k = unit.method, unit.level, unit.level[0]
    wanted = [str(ticket_dir / method / f"round{k}" / f"seed{s}" / "ticket.pt") for s in seeds]
    stored = payload.get("tickets") or []
    if cached and stored == wanted and all(Path(t).is_file() for t in stored):
        return payload
    materials = list(materials or [None] * len(seeds))
    ugs_states = payload.get("ugs_state") or [None] * len(seeds)
    tests = payload.get("test_accs") or [None] * len(seeds)
    for i, seed in enumerate(seeds):
        if materials[i] is None:
            materials[i] = cached_material(ctx, method, level, i, seed, ugs_states[i], tests[i])
    provenance = dict(base_provenance, key=unit.key)
    paths = _write_tickets(ticket_dir, method, level, materials, provenance)
    return dict(payload, tickets=paths, tickets_changed=cached)
