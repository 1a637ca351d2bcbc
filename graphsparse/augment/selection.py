"""GAug-M model selection, on validation only.

It chooses which edge-predictor draw (and which rm/add percentages of a grid) to augment with.

The reference picks one of many stored predictor draws (its ``best_parameters.json`` 'i') and its rm/add by test
accuracy; :func:`select_gaug_m_graph` picks the draw (and rm/add when given a grid) whose augmented graph gives
the best mean *validation* score over a few selection seeds, and returns that graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..graph import Graph
from .gaug_m import edit_counts, gaug_m_graph
from .predictor import EdgePredictor, train_edge_predictor

__all__ = ["percent_grid", "gaug_m_grid", "predictor_embeddings", "select_gaug_m_graph", "SELECTION_SEED_BASE"]

SELECTION_SEED_BASE = 10_000  # selection runs use seeds 10000.. so they never coincide with the reported seeds


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def percent_grid(name: str, value: Any) -> list[float]:
    """``2`` -> ``[2]``; ``'0|2|5'`` (a grid chosen on validation) -> ``[0, 2, 5]``; anything else raises."""
    items = value.split("|") if isinstance(value, str) else [value]
    grid = [_number(item.strip()) if isinstance(item, str) else item for item in items]
    for number in grid:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"GAug-M: {name} must be a number or numbers separated by '|', got {value!r}")
    return grid


def gaug_m_grid(graph: Graph, rm_pct: Any, add_pct: Any) -> list[tuple[float, float]]:
    """Every (rm_pct, add_pct) pair of the two grids, each checked against ``graph`` before any training."""
    grid = [(rm, add) for rm in percent_grid("rm_pct", rm_pct) for add in percent_grid("add_pct", add_pct)]
    for rm, add in grid:
        edit_counts(graph, rm, add)  # bad percentages fail before any training
    return grid


def predictor_embeddings(
    graph: Graph, options: dict[str, Any], seed: int, progress: bool | str = False
) -> torch.Tensor:
    """Node embeddings of GAug-M's edge predictor, seeded with ``seed`` before it is built and trained.

    ``options``: ``ep_hidden`` (128), ``ep_out`` (32), ``ep_hidden_activation`` ('none'), ``ep_out_activation``
    ('relu'), ``ep_epochs`` (200). The predictor sees row-normalised features; ``progress`` shows its training
    epochs on a transient bar.
    """
    from ..tasks.node import row_normalize_features
    from ..utils import seed_everything

    normalized = row_normalize_features(graph)
    seed_everything(seed)
    predictor = EdgePredictor(
        graph.num_features,
        options.get("ep_hidden", 128),
        options.get("ep_out", 32),
        hidden_activation=options.get("ep_hidden_activation", "none"),
        out_activation=options.get("ep_out_activation", "relu"),
    )
    predictor = train_edge_predictor(
        normalized, predictor, epochs=options.get("ep_epochs", 200), seed=seed, progress=progress
    )
    with torch.no_grad():
        return predictor(normalized)


def select_gaug_m_graph(
    graph: Graph,
    options: dict[str, Any],
    grid: list[tuple[float, float]],
    draws: int,
    select_seeds: int,
    validate: Callable[[Graph, int, int], float],
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Graph, dict[str, Any], list[dict[str, Any]]]:
    """Try ``draws`` predictor draws × every (rm_pct, add_pct) of ``grid``; keep the best on validation.

    Returns the augmented graph with the best mean validation score, its entry and every entry tried.

    ``validate(augmented, seed_index, seed)`` trains on ``augmented`` and returns the validation score; each
    candidate is scored over ``select_seeds`` runs (seeds ``SELECTION_SEED_BASE + i``). The chosen graph is kept,
    so no predictor is trained twice. ``progress(entry)`` sees each entry as it is scored.
    """
    if draws < 1 or select_seeds < 1:
        raise ValueError(f"GAug-M: ep_draws and ep_select_seeds must be >= 1 to select, got {draws}, {select_seeds}")
    if not grid:
        raise ValueError("GAug-M: the rm_pct/add_pct grid is empty")
    scored: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    chosen: Graph | None = None
    for draw in range(draws):
        z = predictor_embeddings(graph, options, draw)
        for rm, add in grid:
            candidate = gaug_m_graph(graph, z, rm, add)
            values = [validate(candidate, i, SELECTION_SEED_BASE + i) for i in range(select_seeds)]
            entry = {"draw": draw, "rm_pct": rm, "add_pct": add, "val_mean": sum(values) / len(values)}
            scored.append(entry)
            if best is None or entry["val_mean"] > best["val_mean"]:
                best, chosen = entry, candidate
            if progress is not None:
                progress({**entry, "best_val_mean": best["val_mean"]})
    assert best is not None and chosen is not None
    return chosen, best, scored
