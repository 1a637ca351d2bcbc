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

Every finished (method, level) is committed with ``store.put(key, payload)`` before it is yielded; a rerun with
the same dataset, model, method, level, seeds and training config loads it instead of recomputing, so a killed
search continues where it stopped and ends with the results an uninterrupted run gives. "The same dataset" is
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
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..graph import SCHEMA_VERSION, Graph
from ..tasks.node import NodeTrainConfig
from ..utils import seed_everything
from ..validation import check_float
from .edges import check_sparsity, edge_keep_mask, random_edge_scores, teddy_edge_scores
from .task import NodeGLTTask
from .ticket import Ticket
from .ugs import UGS_INIT_NOISE, UGS_S1, UGS_S2, UGSMasked, pack_mask, ugs_prune, unpack_mask
from .weights import apply_weight_masks, l0_projection, prunable_parameters, weight_sparsity

__all__ = ["GLT_METHODS", "glt_levels", "check_methods", "random_weight_masks", "glt_search", "retrain_ticket"]

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


def random_weight_masks(model: nn.Module, sparsity: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random keep-masks removing ``round(sparsity * n)`` of the counted weights, chosen uniformly (seeded)."""
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


def _config_hash(task: Any, model: nn.Module) -> str:
    blob = json.dumps({"task": task.describe(), "model": repr(model)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _unit_result(method: str, level: Level, runs: list[dict[str, Any]], seeds: Sequence[int], start: float) -> dict:
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
        "seconds": time.perf_counter() - start,
    }


class _Context:
    """Per-search state shared by the units: the task, TEDDY scores and dense teachers per seed (lazily)."""

    def __init__(self, task: Any, model_factory: Callable[[], nn.Module], device: torch.device | str) -> None:
        self.task, self.model_factory, self.device = task, model_factory, device
        self._scores: dict[int, torch.Tensor] = {}
        self._teachers: dict[int, torch.Tensor] = {}

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
            self._teachers[i] = self.task.predict(graph, model)
        return self._teachers[i]


def _init_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def _trained_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu() != 0 for name, p in prunable_parameters(model).items()}


def _run_unit(
    ctx: _Context, method: str, level: Level, seeds: Sequence[int], collect: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    k, gs, ws = level
    start = time.perf_counter()
    runs = []
    for i, seed in enumerate(seeds):
        graph = ctx.task.graph_for_seed(i, seed)
        if method == "teddy":
            keep = edge_keep_mask(ctx.teddy_scores(i, graph), gs)
        elif method == "random":
            keep = edge_keep_mask(random_edge_scores(graph, seed=seed), gs)
        else:  # dense
            keep = torch.ones(graph.num_edges, dtype=torch.bool)
        pruned = graph if bool(keep.all()) else graph.keep_edges(keep)
        teacher = ctx.teacher(i, seed, graph) if method == "teddy" else None
        model = ctx.build(seed)
        theta0 = _init_state(model) if collect is not None else None
        masks, rule = None, "none"
        after_step = None
        if ws > 0 and method == "teddy":
            rule = "l0"
            after_step = functools.partial(l0_projection, sparsity=ws)
            after_step(model)
        elif ws > 0 and method == "random":
            masks, rule = random_weight_masks(model, ws, seed=seed), "masks"
            apply_weight_masks(model, masks)
            after_step = functools.partial(apply_weight_masks, masks=masks)
        result = ctx.task.fit(pruned, model, seed=seed, seed_index=i, after_step=after_step, teacher=teacher)
        result["graph_sparsity"] = 1.0 - pruned.num_edges / graph.num_edges if graph.num_edges else 0.0
        result["weight_sparsity"] = weight_sparsity(model)
        runs.append(result)
        if collect is not None:  # masks kept: the fixed ones, or (l0 projection, dense) the trained model's non-zeros
            weight_masks = masks if masks is not None else _trained_masks(model)
            collect.append(_ticket_material(seed, i, keep, weight_masks, theta0, model, result, rule))
    return _unit_result(method, level, runs, seeds, start)


def _ticket_material(
    seed: int,
    seed_index: int,
    edge_keep: torch.Tensor,
    weight_masks: dict[str, torch.Tensor],
    theta0: dict[str, torch.Tensor] | None,
    model: nn.Module | None,
    result: dict[str, Any] | None,
    rule: str,
) -> dict[str, Any]:
    """What a level's ticket of one seed is made of (the trained state only when the level was trained here)."""
    return {
        "seed": int(seed),
        "seed_index": int(seed_index),
        "edge_keep": edge_keep.detach().cpu().bool(),
        "weight_masks": {n: m.detach().cpu().bool() for n, m in weight_masks.items()},
        "init_state": theta0,
        "trained_state": None if model is None else _init_state(model),
        "val": None if result is None else float(result["val"]),
        "test": None if result is None else float(result["test"]),
        "best_epoch": None if result is None else result.get("best_epoch"),
        "weight_rule": rule,
    }


def _cached_material(
    ctx: _Context, method: str, level: Level, seeds: Sequence[int], payload: dict[str, Any]
) -> list[dict[str, Any]]:
    """Tickets of a level loaded from the store, re-derived without training: the edge masks, θ0 and (random,
    UGS, dense) the weight masks are deterministic; a TEDDY ticket's weight masks are the trained model's non-zeros
    after l0 projection, which only retraining gives (its ticket holds none: ``ticket eval`` retrains with the l0
    projection). No trained weights."""
    k, gs, ws = level
    out = []
    ugs = _unpack_ugs_state(payload["ugs_state"]) if method == "ugs" else None
    tests = payload.get("test_accs") or [None] * len(seeds)
    for i, seed in enumerate(seeds):
        graph = ctx.task.graph_for_seed(i, seed)
        model = ctx.build(seed)
        theta0 = _init_state(model)
        rule = "masks"
        if method == "ugs":
            keep, masks = ugs[i]
        elif method == "random":
            keep = edge_keep_mask(random_edge_scores(graph, seed=seed), gs)
            masks = random_weight_masks(model, ws, seed=seed) if ws > 0 else {}
        elif method == "teddy":
            keep, masks, rule = edge_keep_mask(ctx.teddy_scores(i, graph), gs), {}, "l0" if ws > 0 else "none"
        else:
            keep, masks, rule = torch.ones(graph.num_edges, dtype=torch.bool), {}, "none"
        material = _ticket_material(seed, i, keep, masks, theta0, None, None, rule)
        material["test"] = None if tests[i] is None else float(tests[i])
        out.append(material)
    return out


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
    ctx = _Context(task, model_factory, device)
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


def _initial_ugs_state(ctx: _Context, seeds: Sequence[int]) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    state = []
    for i, seed in enumerate(seeds):
        graph = ctx.task.graph_for_seed(i, seed)
        params = prunable_parameters(ctx.build(seed))
        weights = {n: torch.ones_like(p, dtype=torch.bool, device="cpu") for n, p in params.items()}
        state.append((torch.ones(graph.num_edges, dtype=torch.bool), weights))
    return state


def _pack_ugs_state(state: list[tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> list[dict[str, Any]]:
    return [{"edges": pack_mask(e), "weights": {n: pack_mask(m) for n, m in w.items()}} for e, w in state]


def _unpack_ugs_state(packed: list[dict[str, Any]]) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    return [(unpack_mask(p["edges"]), {n: unpack_mask(m) for n, m in p["weights"].items()}) for p in packed]


def _run_ugs_round(
    ctx: _Context,
    level: Level,
    seeds: Sequence[int],
    state: list[tuple[torch.Tensor, dict[str, torch.Tensor]]],
    collect: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[tuple[torch.Tensor, dict[str, torch.Tensor]]]]:
    """One UGS round per seed: train the soft masks from θ0 under the current binary masks, binarise at the
    level's targets, then retrain the ticket from θ0 and score it (see :mod:`graphsparse.sparsify.ugs`)."""
    k, gs, ws = level
    start = time.perf_counter()
    runs, new_state = [], []
    for i, seed in enumerate(seeds):
        graph = ctx.task.graph_for_seed(i, seed)
        edge_keep, weight_keep = state[i]
        current = graph.keep_edges(edge_keep)
        masked = UGSMasked(ctx.build(seed), current.num_edges, weight_keep, ctx.ugs_s1, ctx.ugs_s2)
        ctx.task.fit(current, masked, seed=seed, seed_index=i, extra_loss=masked.l1_penalty)
        # fit leaves the model at the best-validation epoch: those mask values are binarised
        edge_scores = torch.zeros(graph.num_edges, dtype=torch.float64)
        edge_scores[edge_keep] = masked.edge_mask.detach().cpu().double()
        weight_scores = {n: m.detach().cpu() for n, m in zip(masked.weight_names, masked.weight_masks, strict=True)}
        edge_keep, weight_keep = ugs_prune(edge_scores, edge_keep, gs, weight_scores, weight_keep, ws)
        new_state.append((edge_keep, weight_keep))
        ticket_graph = graph.keep_edges(edge_keep)
        model = ctx.build(seed)  # rewind to θ0
        theta0 = _init_state(model) if collect is not None else None
        apply_weight_masks(model, weight_keep)
        after_step = functools.partial(apply_weight_masks, masks=weight_keep)
        result = ctx.task.fit(ticket_graph, model, seed=seed, seed_index=i, after_step=after_step)
        result["graph_sparsity"] = 1.0 - ticket_graph.num_edges / graph.num_edges if graph.num_edges else 0.0
        result["weight_sparsity"] = weight_sparsity(model)
        runs.append(result)
        if collect is not None:
            collect.append(_ticket_material(seed, i, edge_keep, weight_keep, theta0, model, result, "masks"))
    return _unit_result("ugs", level, runs, seeds, start), new_state


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
) -> Iterator[dict[str, Any]]:
    """Yield the dense baseline (``dense=True``), then one result per (method, level), methods in order.

    Each result holds ``method``, ``round``, ``graph_sparsity`` (fraction of undirected edges removed),
    ``weight_sparsity`` (zeroed / total counted weights, measured on the trained models), ``test_acc_mean``,
    ``test_acc_std``, ``val_acc_mean``, ``seconds`` (and the per-seed ``test_accs``); ``cached`` tells whether it
    was loaded from ``store``. ``progress(result)`` is called after each result. ``key_prefix`` should name the
    dataset and model (the key adds the graph's name and content fingerprint, the result schema version, method,
    level, seeds and a hash of config and model).

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
    ctx = _Context(task, model_factory, device)
    ctx.ugs_s1, ctx.ugs_s2 = check_float("UGS s1", s1, 0.0), check_float("UGS s2", s2, 0.0)  # finite, >= 0
    seed_everything(seeds[0])
    digest = _config_hash(task, model_factory())
    seed_tag = ",".join(map(str, seeds))
    distill_tag = f"|distill={distill:g}" if distill else ""
    graph_name = task.graph_name
    data_tag = f"data={graph.fingerprint()[:24]}|schema={SCHEMA_VERSION}"

    if "ugs" in names:
        _check_ugs_levels(levels)
    units: list[tuple[str, Level]] = [("dense", (0, 0.0, 0.0))] if dense else []
    units += [(m, level) for m in names for level in levels]
    ugs_state = None
    base_provenance: dict[str, Any] = {}
    if ticket_dir is not None:
        ticket_dir = Path(ticket_dir).absolute()
        base_provenance = {
            "dataset": graph_name,
            "task": task.name,
            "metric": task.metric,
            "task_config": json.dumps(task.describe(), sort_keys=True, default=str),
            "distill": float(distill),
            "s1": float(ctx.ugs_s1),
            "s2": float(ctx.ugs_s2),
            **dict(ticket_provenance or {}),
        }
    for method, level in units:
        k, gs, ws = level
        tag = distill_tag if method == "teddy" else ""
        if method == "ugs":  # a UGS round depends on every earlier round: the key names the whole schedule so far
            schedule = ",".join(f"{g:.6f}/{w:.6f}" for _, g, w in levels if _ <= k)
            tag = f"|s1={s1:g}|s2={s2:g}|noise={UGS_INIT_NOISE:g}|after={schedule}"
        key = (
            f"{key_prefix}|{graph_name}|{data_tag}|{method}|round={k}|pg={gs:.6f}|pw={ws:.6f}|seeds={seed_tag}"
            f"|cfg={digest}{tag}"
        )
        payload = store.get(key) if store is not None else None
        provenance = dict(base_provenance, key=key)
        if payload is None:
            collect: list[dict[str, Any]] | None = [] if ticket_dir is not None else None
            if method == "ugs":
                ugs_state = ugs_state or _initial_ugs_state(ctx, seeds)
                payload, ugs_state = _run_ugs_round(ctx, level, seeds, ugs_state, collect)
                payload["ugs_state"] = _pack_ugs_state(ugs_state)  # what the next round needs to resume
            else:
                payload = _run_unit(ctx, method, level, seeds, collect)
            if collect is not None:
                payload["tickets"] = _write_tickets(ticket_dir, method, level, collect, provenance)
            if store is not None:
                store.put(key, payload)
            payload = dict(payload, cached=False)
        else:
            if method == "ugs":
                ugs_state = _unpack_ugs_state(payload["ugs_state"])
            if ticket_dir is not None:
                stored = payload.get("tickets") or []
                wanted = [str(ticket_dir / method / f"round{k}" / f"seed{s}" / "ticket.pt") for s in seeds]
                if stored != wanted or not all(Path(t).is_file() for t in stored):
                    materials = _cached_material(ctx, method, level, seeds, payload)
                    payload = dict(payload, tickets=_write_tickets(ticket_dir, method, level, materials, provenance))
                    if store is not None:
                        store.put(key, payload)
            payload = dict(payload, cached=True)
        payload.pop("ugs_state", None)
        payload["key"] = key
        if progress is not None:
            progress(payload)
        yield payload
