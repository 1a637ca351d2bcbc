r"""Graph lottery ticket search over matched graph/weight sparsity levels, resumable through a results store.

Level :math:`k` of the schedule prunes graph sparsity :math:`1-(1-p_g)^k` and weight sparsity
:math:`1-(1-p_w)^k` (:func:`glt_levels`). :func:`glt_search` yields one result per (method, level), plus a
dense baseline (method ``"dense"``, round 0) first:

- ``"teddy"`` (Seo et al., ICLR 2024): TEDDY edge scores computed once on the original graph, so the edge
  masks of successive levels are nested; the weights are projected onto the l0 ball of the level's weight
  sparsity after every optimizer step (projected gradient descent), training from the same θ0 per seed.
- ``"random"``: random edge scores (generator seeded with the run's seed, so masks are nested across levels)
  and a random weight mask of the level's sparsity, re-applied after every optimizer step.

Every finished (method, level) is committed with ``store.put(key, payload)`` before it is yielded; a rerun with
the same dataset, model, method, level, seeds and training config loads it instead of recomputing, so a killed
search continues where it stopped and ends with the results an uninterrupted run gives.

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
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..graph import Graph
from ..tasks.node import NodeTrainConfig
from ..utils import seed_everything
from .edges import check_sparsity, edge_keep_mask, random_edge_scores, teddy_edge_scores
from .task import NodeGLTTask
from .weights import apply_weight_masks, l0_projection, prunable_parameters, weight_sparsity

__all__ = ["GLT_METHODS", "glt_levels", "check_methods", "random_weight_masks", "glt_search"]

GLT_METHODS = ("teddy", "random")
_PLANNED = {"ugs": "UGS (unified GNN sparsification) is not implemented yet"}

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


def _run_unit(ctx: _Context, method: str, level: Level, seeds: Sequence[int]) -> dict[str, Any]:
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
        after_step = None
        if ws > 0 and method == "teddy":
            after_step = functools.partial(l0_projection, sparsity=ws)
            after_step(model)
        elif ws > 0 and method == "random":
            masks = random_weight_masks(model, ws, seed=seed)
            apply_weight_masks(model, masks)
            after_step = functools.partial(apply_weight_masks, masks=masks)
        result = ctx.task.fit(pruned, model, seed=seed, seed_index=i, after_step=after_step, teacher=teacher)
        result["graph_sparsity"] = 1.0 - pruned.num_edges / graph.num_edges if graph.num_edges else 0.0
        result["weight_sparsity"] = weight_sparsity(model)
        runs.append(result)
    return _unit_result(method, level, runs, seeds, start)


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
) -> Iterator[dict[str, Any]]:
    """Yield the dense baseline (``dense=True``), then one result per (method, level), methods in order.

    Each result holds ``method``, ``round``, ``graph_sparsity`` (fraction of undirected edges removed),
    ``weight_sparsity`` (zeroed / total counted weights, measured on the trained models), ``test_acc_mean``,
    ``test_acc_std``, ``val_acc_mean``, ``seconds`` (and the per-seed ``test_accs``); ``cached`` tells whether it
    was loaded from ``store``. ``progress(result)`` is called after each result. ``key_prefix`` should name the
    dataset and model (the key adds the graph's name, method, level, seeds and a hash of config and model).
    """
    names = check_methods(methods)
    levels = _check_levels(levels)
    if not levels:
        raise ValueError("glt_search needs at least one level, e.g. glt_levels(rounds, pg, pw)")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("glt_search needs at least one seed")
    distill = float(distill)
    if not np.isfinite(distill) or distill < 0:
        raise ValueError(f"distill (λ of the distillation term) must be >= 0, got {distill!r}")
    if task is None:
        task = NodeGLTTask(graph, config, split, distill=distill)
    else:
        task.distill = distill
    ctx = _Context(task, model_factory, device)
    seed_everything(seeds[0])
    digest = _config_hash(task, model_factory())
    seed_tag = ",".join(map(str, seeds))
    distill_tag = f"|distill={distill:g}" if distill else ""
    graph_name = task.graph_name

    units: list[tuple[str, Level]] = [("dense", (0, 0.0, 0.0))] if dense else []
    units += [(m, level) for m in names for level in levels]
    for method, level in units:
        k, gs, ws = level
        tag = distill_tag if method == "teddy" else ""
        key = f"{key_prefix}|{graph_name}|{method}|round={k}|pg={gs:.6f}|pw={ws:.6f}|seeds={seed_tag}|cfg={digest}{tag}"
        payload = store.get(key) if store is not None else None
        if payload is None:
            payload = _run_unit(ctx, method, level, seeds)
            if store is not None:
                store.put(key, payload)
            payload = dict(payload, cached=False)
        else:
            payload = dict(payload, cached=True)
        payload["key"] = key
        if progress is not None:
            progress(payload)
        yield payload
