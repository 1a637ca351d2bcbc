"""The optimizer every trainer uses: Adam over parameter groups, with weight decay where the paper puts it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from torch import nn

__all__ = ["first_layer", "param_groups", "make_optimizer"]


def first_layer(model: nn.Module) -> nn.Module | None:
    """Return the layer Kipf & Welling's weight decay applies to.

    That is ``model.first_layer()`` when the model defines it (the PyG wrapper :class:`graphsparse.nn.PyGModel`
    does, returning its PyG model's first layer), else ``model.convs[0]`` or ``model.lins[0]``; None for models
    without any of these.

    Args:
        model: the model.

    Returns:
        The first layer, or None.
    """
    hook = getattr(model, "first_layer", None)
    if callable(hook):
        return hook()
    layers = getattr(model, "convs", None) or getattr(model, "lins", None)
    return layers[0] if layers else None


def param_groups(
    model: nn.Module,
    weight_decay: float,
    decay_first_layer_only: bool = False,
    exclude: Collection[nn.Parameter] = (),
) -> list[dict[str, Any]]:
    """Weight decay on every parameter, or — Kipf & Welling's setting — only on the first layer's.

    Args:
        model: the model to optimise.
        weight_decay: the L2 coefficient.
        decay_first_layer_only: decay only :func:`first_layer`'s parameters (the others get none). A model whose
            first layer is unknown (no ``first_layer()``, ``convs`` or ``lins``; e.g. a GLT method's wrapper)
            has every parameter decayed, as before; ``graphsparse train --decay first-layer`` refuses such a
            model up front.
        exclude: parameters left out of every group (those another optimizer steps, e.g. sparse ones).

    Returns:
        The parameter groups of :class:`torch.optim.Adam`.
    """
    skipped = {id(p) for p in exclude}
    params = [p for p in model.parameters() if id(p) not in skipped]
    first = first_layer(model) if decay_first_layer_only else None
    if first is None:
        return [{"params": params, "weight_decay": weight_decay}]
    first_ids = {id(p) for p in first.parameters()}
    return [
        {"params": [p for p in params if id(p) in first_ids], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) not in first_ids], "weight_decay": 0.0},
    ]


def make_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.0,
    decay_first_layer_only: bool = False,
    exclude: Collection[nn.Parameter] = (),
) -> torch.optim.Optimizer:
    """Adam with :func:`param_groups` (``exclude``: parameters another optimizer steps)."""
    return torch.optim.Adam(param_groups(model, weight_decay, decay_first_layer_only, exclude), lr=lr)
