"""The work units of a GLT search: one (method, level, seed) each, runnable in any process.

:func:`~graphsparse.sparsify.search.glt_search` plans the units and an executor (:mod:`graphsparse.parallel`)
runs them, here or on Ray workers. A unit is a top-level function of the search's :class:`SearchContext` (the
task with its graph, the model factory, the device and UGS coefficients; shipped to workers once) and plain
values, and returns plain values (numbers, CPU tensors, bit-packed masks): it never writes the results store or
ticket files — the driver does, as each unit arrives.

- :func:`teacher_unit`: the dense teacher of a seed (TEDDY with distillation); its outputs feed that seed's
  TEDDY units.
- :func:`oneshot_unit`: the dense baseline, a TEDDY level or a random level of one seed (independent of every
  other level: TEDDY's edge scores are computed on the original graph, random ones from the seed).
- :func:`ugs_round_unit`: UGS round k of one seed, from the binary masks round k-1 left (a chain per seed; the
  rounds of different seeds are independent, so seeds run side by side).

Every unit starts from ``seed_everything(seed)`` and the model built after it (θ0), so its numbers do not depend
on which process runs it or what ran there before: serial and parallel searches give identical results.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..graph import Graph
from ..utils import seed_everything
from .edges import edge_keep_mask, random_edge_scores, teddy_edge_scores
from .ugs import UGSMasked, pack_mask, ugs_prune, unpack_mask
from .weights import apply_weight_masks, l0_projection, prunable_parameters, weight_sparsity

__all__ = [
    "SearchContext",
    "random_weight_masks",
    "teacher_unit",
    "oneshot_unit",
    "ugs_round_unit",
    "ticket_material",
    "cached_material",
    "pack_ugs_state",
    "unpack_ugs_state",
]

Level = tuple[int, float, float]
UGSState = tuple[torch.Tensor, dict[str, torch.Tensor]]


def random_weight_masks(model: nn.Module, sparsity: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random keep-masks removing ``round(sparsity * n)`` of the counted weights, chosen uniformly (seeded)."""
    from .edges import check_sparsity

    sparsity = check_sparsity(sparsity, "weight sparsity")
    params = prunable_parameters(model)
    total = sum(p.numel() for p in params.values())
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(total, generator=generator)
    flat = torch.ones(total, dtype=torch.bool)
    flat[order[: round(sparsity * total)]] = False
    out, start = {}, 0
    for name, p in params.items():
        out[name] = flat[start : start + p.numel()].view(p.shape).to(p.device)
        start += p.numel()
    return out


class SearchContext:
    """What every unit of one search shares: the task, the model factory, the device, UGS's l1 coefficients,
    and (per process) the TEDDY scores and dense teachers already computed."""

    def __init__(
        self,
        task: Any,
        model_factory: Callable[[], nn.Module],
        device: torch.device | str,
        ugs_s1: float = 0.0,
        ugs_s2: float = 0.0,
    ) -> None:
        self.task, self.model_factory, self.device = task, model_factory, device
        self.ugs_s1, self.ugs_s2 = ugs_s1, ugs_s2
        self._scores: dict[int, torch.Tensor] = {}
        self._teachers: dict[int, torch.Tensor] = {}

    def __getstate__(self) -> dict[str, Any]:
        # caches stay in the process that filled them: a worker computes what it needs
        return {**self.__dict__, "_scores": {}, "_teachers": {}}

    def build(self, seed: int) -> nn.Module:
        """θ0 of ``seed``: the same for every method and level."""
        seed_everything(seed)
        return self.model_factory().to(self.device)

    def teddy_scores(self, i: int, graph: Graph) -> torch.Tensor:
        if i not in self._scores:
            self._scores[i] = teddy_edge_scores(graph)
        return self._scores[i]

    def teacher(self, i: int, seed: int, graph: Graph) -> torch.Tensor | None:
        """Outputs of a dense model trained on the unpruned graph (only when the task distills)."""
        if not getattr(self.task, "distill", 0.0):
            return None
        if i not in self._teachers:
            model = self.build(seed)
            self.task.fit(graph, model, seed=seed, seed_index=i)
            self._teachers[i] = self.task.predict(graph, model).detach()
        return self._teachers[i]


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def _trained_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu() != 0 for name, p in prunable_parameters(model).items()}


def _run_record(result: dict[str, Any], graph: Graph, pruned: Graph, model: nn.Module, start: float) -> dict:
    """What the driver keeps of a trained seed (JSON-able): scores, sparsities, timing."""
    return {
        "val": float(result["val"]),
        "test": float(result["test"]),
        "best_epoch": None if result.get("best_epoch") is None else int(result["best_epoch"]),
        "graph_sparsity": 1.0 - pruned.num_edges / graph.num_edges if graph.num_edges else 0.0,
        "weight_sparsity": weight_sparsity(model),
        "seconds": time.perf_counter() - start,
    }


def ticket_material(
    seed: int,
    seed_index: int,
    edge_keep: torch.Tensor,
    weight_masks: dict[str, torch.Tensor],
    theta0: dict[str, torch.Tensor] | None,
    model: nn.Module | None,
    run: dict[str, Any] | None,
    rule: str,
) -> dict[str, Any]:
    """What a level's ticket of one seed is made of (the trained state only when the level was trained here)."""
    return {
        "seed": int(seed),
        "seed_index": int(seed_index),
        "edge_keep": edge_keep.detach().cpu().bool(),
        "weight_masks": {n: m.detach().cpu().bool() for n, m in weight_masks.items()},
        "init_state": theta0,
        "trained_state": None if model is None else _state_copy(model),
        "val": None if run is None else run["val"],
        "test": None if run is None else run["test"],
        "best_epoch": None if run is None else run.get("best_epoch"),
        "weight_rule": rule,
    }


def teacher_unit(ctx: SearchContext, seed_index: int, seed: int) -> torch.Tensor:
    """The dense teacher's outputs of one seed (CPU), handed to that seed's TEDDY units."""
    graph = ctx.task.graph_for_seed(seed_index, seed)
    return ctx.teacher(seed_index, seed, graph).cpu()


def oneshot_unit(
    ctx: SearchContext,
    method: str,
    level: Level,
    seed_index: int,
    seed: int,
    teacher: torch.Tensor | dict[str, Any] | None = None,
    want_material: bool = False,
    as_teacher: bool = False,
) -> dict[str, Any]:
    """Train one seed of a one-shot level (``"dense"``, ``"teddy"``, ``"random"``) from θ0; returns ``{"run":
    scores and sparsities, "material": ticket material or None}``.

    ``as_teacher`` (dense only): also return the trained model's outputs as ``"teacher"``: the dense teacher of a
    distilled search is this very training (same θ0, graph and random state), so on parallel workers, where no
    process remembers the other's fits, the search asks the dense unit for it instead of training it twice.
    ``teacher`` may be such a unit's result.
    """
    if as_teacher and method != "dense":
        raise ValueError(f"only the dense unit can be a teacher, not {method!r}")
    if isinstance(teacher, dict):
        teacher = teacher["teacher"]
    start = time.perf_counter()
    k, gs, ws = level
    i = seed_index
    graph = ctx.task.graph_for_seed(i, seed)
    if method == "teddy":
        keep = edge_keep_mask(ctx.teddy_scores(i, graph), gs)
    elif method == "random":
        keep = edge_keep_mask(random_edge_scores(graph, seed=seed), gs)
    else:  # dense
        keep = torch.ones(graph.num_edges, dtype=torch.bool)
    pruned = graph if bool(keep.all()) else graph.keep_edges(keep)
    if teacher is not None:
        teacher = teacher.to(ctx.device)
    model = ctx.build(seed)
    theta0 = _state_copy(model) if want_material else None
    masks, rule, after_step = None, "none", None
    if ws > 0 and method == "teddy":
        rule = "l0"
        after_step = functools.partial(l0_projection, sparsity=ws)
        after_step(model)
    elif ws > 0 and method == "random":
        masks, rule = random_weight_masks(model, ws, seed=seed), "masks"
        apply_weight_masks(model, masks)
        after_step = functools.partial(apply_weight_masks, masks=masks)
    result = ctx.task.fit(pruned, model, seed=seed, seed_index=i, after_step=after_step, teacher=teacher)
    run = _run_record(result, graph, pruned, model, start)
    material = None
    if want_material:  # masks kept: the fixed ones, or (l0 projection, dense) the trained model's non-zeros
        weight_masks = masks if masks is not None else _trained_masks(model)
        material = ticket_material(seed, i, keep, weight_masks, theta0, model, run, rule)
    out = {"run": run, "material": material}
    if as_teacher:
        out["teacher"] = ctx.task.predict(graph, model).detach().cpu()
    return out


def _initial_ugs_state(ctx: SearchContext, seed_index: int, seed: int) -> UGSState:
    graph = ctx.task.graph_for_seed(seed_index, seed)
    params = prunable_parameters(ctx.build(seed))
    weights = {n: torch.ones_like(p, dtype=torch.bool, device="cpu") for n, p in params.items()}
    return torch.ones(graph.num_edges, dtype=torch.bool), weights


def pack_ugs_state(state: UGSState) -> dict[str, Any]:
    """One seed's binary UGS masks as JSON-able bit-packed masks (stored with every round)."""
    edges, weights = state
    return {"edges": pack_mask(edges), "weights": {n: pack_mask(m) for n, m in weights.items()}}


def unpack_ugs_state(packed: dict[str, Any]) -> UGSState:
    return unpack_mask(packed["edges"]), {n: unpack_mask(m) for n, m in packed["weights"].items()}


def ugs_round_unit(
    ctx: SearchContext,
    level: Level,
    seed_index: int,
    seed: int,
    previous: dict[str, Any] | None,
    want_material: bool = False,
) -> dict[str, Any]:
    """UGS round ``level`` of one seed: train the soft masks from θ0 under the binary masks of the round before
    (``previous``: that round's unit result, its packed ``ugs_state``, or None before round 1), binarise at the
    level's targets, rewind to θ0 and retrain the ticket to score it (see :mod:`graphsparse.sparsify.ugs`).
    Returns ``{"run", "material", "ugs_state"}`` (the packed masks the next round starts from)."""
    start = time.perf_counter()
    k, gs, ws = level
    i = seed_index
    if previous is not None and "ugs_state" in previous:
        previous = previous["ugs_state"]
    edge_keep, weight_keep = _initial_ugs_state(ctx, i, seed) if previous is None else unpack_ugs_state(previous)
    graph = ctx.task.graph_for_seed(i, seed)
    current = graph.keep_edges(edge_keep)
    masked = UGSMasked(ctx.build(seed), current.num_edges, weight_keep, ctx.ugs_s1, ctx.ugs_s2)
    ctx.task.fit(current, masked, seed=seed, seed_index=i, extra_loss=masked.l1_penalty)
    # fit leaves the model at the best-validation epoch: those mask values are binarised
    edge_scores = torch.zeros(graph.num_edges, dtype=torch.float64)
    edge_scores[edge_keep] = masked.edge_mask.detach().cpu().double()
    weight_scores = {n: m.detach().cpu() for n, m in zip(masked.weight_names, masked.weight_masks, strict=True)}
    edge_keep, weight_keep = ugs_prune(edge_scores, edge_keep, gs, weight_scores, weight_keep, ws)
    ticket_graph = graph.keep_edges(edge_keep)
    model = ctx.build(seed)  # rewind to θ0
    theta0 = _state_copy(model) if want_material else None
    apply_weight_masks(model, weight_keep)
    after_step = functools.partial(apply_weight_masks, masks=weight_keep)
    result = ctx.task.fit(ticket_graph, model, seed=seed, seed_index=i, after_step=after_step)
    run = _run_record(result, graph, ticket_graph, model, start)
    material = None
    if want_material:
        material = ticket_material(seed, i, edge_keep, weight_keep, theta0, model, run, "masks")
    return {"run": run, "material": material, "ugs_state": pack_ugs_state((edge_keep, weight_keep))}


def cached_material(
    ctx: SearchContext,
    method: str,
    level: Level,
    seed_index: int,
    seed: int,
    ugs_state: dict[str, Any] | None,
    test: float | None,
) -> dict[str, Any]:
    """A stored seed's ticket, re-derived without training: the edge masks, θ0 and (random, UGS, dense) the
    weight masks are deterministic; a TEDDY ticket's weight masks are the trained model's non-zeros after l0
    projection, which only retraining gives (its ticket holds none: ``ticket eval`` retrains with the l0
    projection). No trained weights."""
    k, gs, ws = level
    graph = ctx.task.graph_for_seed(seed_index, seed)
    model = ctx.build(seed)
    theta0 = _state_copy(model)
    rule = "masks"
    if method == "ugs":
        keep, masks = unpack_ugs_state(ugs_state)
    elif method == "random":
        keep = edge_keep_mask(random_edge_scores(graph, seed=seed), gs)
        masks = random_weight_masks(model, ws, seed=seed) if ws > 0 else {}
    elif method == "teddy":
        keep, masks, rule = edge_keep_mask(ctx.teddy_scores(seed_index, graph), gs), {}, "l0" if ws > 0 else "none"
    else:
        keep, masks, rule = torch.ones(graph.num_edges, dtype=torch.bool), {}, "none"
    material = ticket_material(seed, seed_index, keep, masks, theta0, None, None, rule)
    material["test"] = None if test is None else float(test)
    return material
