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
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from ..graph import Graph
from ..tasks.node import NodeTrainConfig, row_normalize_features, split_for_seed, train_node
from ..utils import seed_everything
from .edges import check_sparsity, edge_keep_mask, random_edge_scores, teddy_edge_scores
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


def _config_hash(config: NodeTrainConfig, model: nn.Module, split: str | None) -> str:
    blob = json.dumps({"train": asdict(config), "model": repr(model), "split": split}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _run_unit(
    graph: Graph,
    model_factory: Callable[[], nn.Module],
    method: str,
    level: Level,
    seeds: Sequence[int],
    config: NodeTrainConfig,
    split: str | None,
    device: torch.device | str,
    teddy_scores: torch.Tensor | None,
) -> dict[str, Any]:
    k, gs, ws = level
    start = time.perf_counter()
    tests, vals, graph_sp, weight_sp = [], [], [], []
    for i, seed in enumerate(seeds):
        split_name, split_masks = split_for_seed(graph, i, split)
        if method == "teddy":
            keep = edge_keep_mask(teddy_scores, gs)
        elif method == "random":
            keep = edge_keep_mask(random_edge_scores(graph, seed=seed), gs)
        else:  # dense
            keep = torch.ones(graph.num_edges, dtype=torch.bool)
        pruned = graph if bool(keep.all()) else graph.keep_edges(keep)
        seed_everything(seed)
        model = model_factory().to(device)  # θ0: the same for every method and level of this seed
        after_step = None
        if ws > 0 and method == "teddy":
            after_step = functools.partial(l0_projection, sparsity=ws)
            after_step(model)
        elif ws > 0 and method == "random":
            masks = random_weight_masks(model, ws, seed=seed)
            apply_weight_masks(model, masks)
            after_step = functools.partial(apply_weight_masks, masks=masks)
        result = train_node(pruned, model, split_masks, config, after_step=after_step, seed=seed, split_name=split_name)
        tests.append(result.test_acc)
        vals.append(result.val_acc)
        graph_sp.append(1.0 - pruned.num_edges / graph.num_edges if graph.num_edges else 0.0)
        weight_sp.append(weight_sparsity(model))
    return {
        "method": method,
        "round": k,
        "target_graph_sparsity": gs,
        "target_weight_sparsity": ws,
        "graph_sparsity": float(np.mean(graph_sp)),
        "weight_sparsity": float(np.mean(weight_sp)),
        "test_acc_mean": float(np.mean(tests)),
        "test_acc_std": float(np.std(tests)),
        "val_acc_mean": float(np.mean(vals)),
        "val_acc_std": float(np.std(vals)),
        "test_accs": [float(t) for t in tests],
        "seeds": [int(s) for s in seeds],
        "seconds": time.perf_counter() - start,
    }


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
    config = config or NodeTrainConfig()
    if graph.directed:
        raise ValueError(f"GLT search needs an undirected graph; graph {graph.name!r} is directed")
    if config.normalize_features:
        graph = row_normalize_features(graph)
    seed_everything(seeds[0])
    digest = _config_hash(config, model_factory(), split)
    seed_tag = ",".join(map(str, seeds))
    teddy_scores = teddy_edge_scores(graph) if "teddy" in names else None

    units: list[tuple[str, Level]] = [("dense", (0, 0.0, 0.0))] if dense else []
    units += [(m, level) for m in names for level in levels]
    for method, level in units:
        k, gs, ws = level
        key = f"{key_prefix}|{graph.name}|{method}|round={k}|pg={gs:.6f}|pw={ws:.6f}|seeds={seed_tag}|cfg={digest}"
        payload = store.get(key) if store is not None else None
        if payload is None:
            payload = _run_unit(graph, model_factory, method, level, seeds, config, split, device, teddy_scores)
            if store is not None:
                store.put(key, payload)
            payload = dict(payload, cached=False)
        else:
            payload = dict(payload, cached=True)
        payload["key"] = key
        if progress is not None:
            progress(payload)
        yield payload
