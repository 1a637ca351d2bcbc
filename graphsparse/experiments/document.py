"""The JSON document of the ``train``, ``glt`` and ``tune`` commands, and mean ± std over seeds.

**The JSON document of ``train --json`` and ``glt --json``** (schema :data:`SCHEMA`, built by
:func:`command_document`) is one object whose shared top-level keys are:

``schema``
    int, this layout's version (1); bumped when a shared key changes meaning.
``version``
    the graphsparse version that wrote it.
``command``
    ``"train"`` or ``"glt"``.
``dataset``, ``model``, ``task``, ``metric``
    the dataset's canonical name, the model name, ``"node"`` / ``"link"`` and the selection/report metric
    (``"acc"``, ``"roc_auc"``, ``"auc"``).
``seeds``
    the list of seeds run.
``config``
    the *resolved* configuration, everything needed to rerun: ``preset``, ``model_options`` (the model's
    defaults filled in), ``train`` (epochs, lr, weight decay, ...), ``split``, the path's own options
    (``batching``/``cluster``, ``augment``/``gaug``, ``eval_negatives``, the GLT ``methods``,
    ``method_options``, ``rounds``, ``pg``, ``pw``, ``levels``, ...), ``device`` and ``threads``.
``summary``
    ``{name: {"mean": float, "std": float}}`` over seeds: for ``train`` every reported metric
    (``test_acc``, ``val_acc``, ``epoch_seconds``, ...); for ``glt`` the dense (unpruned) model's
    ``test_<metric>``.
``std``, ``std_ddof``
    which std the document's ``*_std`` values are: ``"sample (ddof=1)"`` / 1 for ``train`` (as the papers'
    tables and pandas; NaN with one seed), ``"population (ddof=0)"`` / 0 for ``glt`` (its levels, and the
    published GLT tables) and ``tune``.
``runs`` (``train``)
    one entry per seed (``seed``, ``split``, val/test scores, ``best_epoch``).
``levels`` (``glt``)
    one entry per (method, round): ``method``, ``round``, ``graph_sparsity``, ``weight_sparsity``,
    ``test_acc_mean``/``test_acc_std`` (the task's metric, whatever its name), ``seconds``, ``tickets``.

Each command adds its own keys beside the shared ones: ``train`` the flat ``test_<metric>_mean``/``_std`` and the
path's extras (``preset``, ``batching``, ``parts``, ``gaug``, ``baseline_*``, ...); ``glt`` ``preset``,
``epochs``, ``model_options``, ``method_options`` (each method's options), ``labels`` (how tables name the
methods), ``dense`` and ``timing``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

__all__ = ["STD_SAMPLE", "STD_POPULATION", "summarize", "SCHEMA", "metric_summary", "command_document"]


STD_SAMPLE = "sample (ddof=1)"
"""How ``train`` (and its grids) report the spread over seeds: the sample std, as the papers' tables and pandas."""
STD_POPULATION = "population (ddof=0)"
"""How a GLT search's levels report it (:mod:`graphsparse.sparsify.records`; its published tables use it)."""
_STD_DDOF = {STD_SAMPLE: 1, STD_POPULATION: 0}


def summarize(rows: list[dict[str, Any]], keys: Sequence[str], ddof: int = 1) -> dict[str, float]:
    """``<key>_mean`` and ``<key>_std`` over seeds for each metric key.

    Args:
        rows: one dict per seed.
        keys: the metrics to summarise.
        ddof: delta degrees of freedom of the std: 1 (default) is the sample std (as pandas and the papers'
            tables), 0 the population std. With fewer than ``ddof + 1`` values the std is NaN (undefined).

    Returns:
        ``{"<key>_mean": ..., "<key>_std": ...}`` for each key.
    """
    import numpy as np

    out: dict[str, float] = {}
    for key in keys:
        values = np.array([float(r[key]) for r in rows], dtype=float)
        out[f"{key}_mean"] = float(values.mean()) if values.size else math.nan
        out[f"{key}_std"] = float(values.std(ddof=ddof)) if values.size > ddof else math.nan
    return out


SCHEMA = 1
"""Version of the ``train``/``glt`` JSON document's layout (see the module docstring)."""


def metric_summary(flat: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"test_acc_mean": m, "test_acc_std": s, ...}`` -> ``{"test_acc": {"mean": m, "std": s}, ...}``.

    Only the top level's ``*_mean`` keys are read; a missing std is NaN.
    """
    out: dict[str, dict[str, float]] = {}
    for key, value in flat.items():
        if key.endswith("_mean") and isinstance(value, (int, float)):
            name = key[: -len("_mean")]
            out[name] = {"mean": float(value), "std": float(flat.get(f"{name}_std", math.nan))}
    return out


def command_document(
    command: str,
    *,
    dataset: str,
    model: str,
    task: str,
    metric: str,
    seeds: Sequence[int],
    config: dict[str, Any],
    summary: dict[str, dict[str, float]],
    extra: dict[str, Any] | None = None,
    std: str | None = None,
) -> dict[str, Any]:
    """The shared JSON document of ``train``/``glt`` (the module docstring lists its keys).

    ``extra`` holds the command's own keys (``runs`` or ``levels``, and the flat keys above); the shared keys win
    over it. ``std`` (:data:`STD_SAMPLE` or :data:`STD_POPULATION`) names the std the document holds: keys ``std``
    and ``std_ddof``.
    """
    from .. import __version__

    document = dict(extra or {})
    if std is not None:
        if std not in _STD_DDOF:
            raise ValueError(f"std must be {STD_SAMPLE!r} or {STD_POPULATION!r}, got {std!r}")
        document.update(std=std, std_ddof=_STD_DDOF[std])
    document.update(
        schema=SCHEMA,
        version=__version__,
        command=command,
        dataset=dataset,
        model=model,
        task=task,
        metric=metric,
        seeds=[int(s) for s in seeds],
        config=config,
        summary=summary,
    )
    return document
