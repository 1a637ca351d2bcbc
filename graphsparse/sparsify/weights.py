"""Weight masks: which parameters count, global magnitude pruning and TEDDY's l0 projection.

**Which parameters count.** Pruning acts on weight matrices only: parameters whose name ends in ``weight`` and
that have ``dim() >= 2`` (``SparseGCNConv.weight``, ``nn.Linear.weight``, PyG ``lin.weight``). Biases, GIN's ``eps``,
GAT attention vectors (``att_src``...) and norm-layer scales are excluded and never masked; every sparsity
reported here is a fraction of the counted weights only.

Masks are ``dict[name, bool Tensor]`` (True = kept) keyed by ``model.named_parameters()`` names.
Ties in magnitude are broken deterministically by position (parameter order, then flattened index): among
equal magnitudes the earlier weight is pruned first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .edges import check_sparsity

__all__ = [
    "prunable_parameters",
    "global_magnitude_masks",
    "apply_weight_masks",
    "l0_projection",
    "weight_sparsity",
    "check_masks",
]


def prunable_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The counted parameters of ``model``: names ending in ``weight`` with ``dim() >= 2`` (biases excluded)."""
    return {name: p for name, p in model.named_parameters() if name.endswith("weight") and p.dim() >= 2}


def check_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> dict[str, nn.Parameter]:
    """Check that ``masks`` name counted parameters of ``model`` with matching shapes; return those parameters."""
    params = prunable_parameters(model)
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(
            f"weight masks name parameters the model does not have (or does not prune): {', '.join(unknown)}; "
            f"prunable parameters: {', '.join(params) or 'none'}"
        )
    for name, mask in masks.items():
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool:
            raise ValueError(f"weight mask {name!r} must be boolean, got {mask.dtype}")
        if mask.shape != params[name].shape:
            raise ValueError(
                f"weight mask {name!r} has shape {list(mask.shape)}, parameter has {list(params[name].shape)}"
            )
    return params


def _flat_scores(
    model: nn.Module, masks: Mapping[str, torch.Tensor] | None
) -> tuple[dict[str, nn.Parameter], torch.Tensor, torch.Tensor | None]:
    """Counted parameters, their concatenated |w| and the concatenated 'allowed' mask.

    |w| is on the CPU (float32 ranks exactly as float64 would); the mask is ``None`` without ``masks`` (every
    weight is allowed).
    """
    params = prunable_parameters(model) if masks is None else check_masks(model, masks)
    if not params:
        raise ValueError(f"{type(model).__name__} has no prunable weights (names ending in 'weight', dim >= 2)")
    magnitude = torch.cat([p.detach().reshape(-1).cpu() for p in params.values()]).abs_()  # one copy, then in place
    if masks is None:
        return params, magnitude, None
    allowed = torch.cat(
        [
            (masks[n].reshape(-1).cpu() if n in masks else torch.ones(p.numel(), dtype=torch.bool))
            for n, p in params.items()
        ]
    )
    return params, magnitude, allowed


def _split_flat(params: Mapping[str, nn.Parameter], flat: torch.Tensor) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, p in params.items():
        out[name] = flat[start : start + p.numel()].view(p.shape).to(p.device)
        start += p.numel()
    return out


_SAMPLE = 8192  # strided sample that brackets the k-th largest score
_BRACKET_SIGMAS = 4.0  # half-width of the bracket, in binomial standard deviations of the sample rank


def _bracket(values: np.ndarray, k: int) -> tuple[Any, Any] | None:
    """``(lo, hi)`` from a strided sample of ``values``, expected (not proven) to hold its ``k``-th largest value.

    ``None`` for inputs too small to sample. ``lo``/``hi`` is None where the bracket is open.
    """
    n = values.size
    step = n // _SAMPLE
    if step < 2:
        return None
    sample = values[::step]
    m = sample.size
    q = (n - k + 0.5) / n  # the quantile of the k-th largest, ascending
    spread = _BRACKET_SIGMAS * math.sqrt(m * q * (1.0 - q)) + 2.0
    lo_rank, hi_rank = math.floor(q * m - spread), math.ceil(q * m + spread)
    ranks = [r for r in (lo_rank, hi_rank) if 0 <= r < m]
    ordered = np.partition(sample, ranks) if ranks else sample
    lo = ordered[lo_rank] if lo_rank >= 0 else None  # the (lo_rank + 1)-th smallest, as torch.kthvalue numbers
    hi = ordered[hi_rank] if hi_rank < m else None
    return lo, hi


def _keep_top_bracketed(score: torch.Tensor, k: int) -> torch.Tensor | None:
    """The keep-mask of :func:`_keep_top` (``1 <= k <= n``) found inside a sampled bracket, or None.

    None when the counts show the bracket misses the ``k``-th largest value (the caller then selects over
    everything).

    Exact whatever the sample: fewer than ``k`` scores above ``hi`` and at least ``k`` at or above ``lo`` prove
    that the ``k``-th largest lies in ``[lo, hi]``, and it is selected among the few scores there. The passes run
    in numpy on the tensor's memory: its comparisons, counts and selections are several times faster than
    torch's on CPU, and they are exact (comparisons and an order statistic, no arithmetic).
    """
    if score.device.type != "cpu" or score.dtype not in (torch.float32, torch.float64):
        return None
    if bool(torch.isnan(score.sum())):  # kthvalue ranks NaN above everything; the counts below would not
        return None
    values = score.detach().contiguous().numpy()
    bracket = _bracket(values, k)
    if bracket is None:
        return None
    lo, hi = bracket
    above_hi = 0 if hi is None else int(np.count_nonzero(values > hi))
    if above_hi >= k:
        return None
    if lo is None:
        inside = values <= hi
    else:
        inside = values >= lo
        if hi is not None:
            inside &= values <= hi
    band = values[inside]
    if above_hi + band.size < k:
        return None
    wanted = k - above_hi  # the k-th largest is the wanted-th largest inside the bracket
    value = np.partition(band, band.size - wanted)[band.size - wanted]
    ties = int(np.count_nonzero(band == value))
    missing = wanted - int(np.count_nonzero(band > value))
    if missing == ties:  # the usual case: every score equal to the threshold is kept
        return torch.from_numpy(values >= value)
    keep = values > value
    positions = np.flatnonzero(values == value)  # ascending; the latest are kept, as a stable sort would
    keep[positions[positions.size - missing :]] = True
    return torch.from_numpy(keep)


def _keep_top(magnitude: torch.Tensor, allowed: torch.Tensor | None, k: int) -> torch.Tensor:
    """Keep exactly the ``k`` largest allowed magnitudes (ties: the later position is kept).

    ``allowed=None``: all are.
    """
    score = magnitude if allowed is None else torch.where(allowed, magnitude, torch.full_like(magnitude, -1.0))
    n = score.numel()
    if k <= 0:
        return torch.zeros(n, dtype=torch.bool)
    # TEDDY projects after every optimizer step: selecting over all of a 512-wide layer's weights (a sort, or even
    # torch.kthvalue) dominated its epochs; a sampled bracket leaves a few percent of them to select among
    keep = _keep_top_bracketed(score, k)
    if keep is not None:
        return keep
    threshold = torch.kthvalue(score, n - k + 1).values
    keep = score > threshold
    ties = torch.nonzero(score == threshold).flatten()
    missing = k - int(keep.sum())
    keep[ties[ties.numel() - missing :]] = True
    return keep


def global_magnitude_masks(
    model: nn.Module, sparsity: float, existing_masks: Mapping[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Masks pruning the smallest-magnitude counted weights, globally across layers.

    ``sparsity`` is the total fraction of counted weights pruned (``round(sparsity * n)`` of them), including
    those already pruned by ``existing_masks`` (iterative pruning: pruned weights stay pruned). A target below
    the sparsity the existing masks already have is an error.
    """
    sparsity = check_sparsity(sparsity)
    params, magnitude, allowed = _flat_scores(model, existing_masks)
    total = magnitude.numel()
    keep_count = total - round(sparsity * total)
    alive = total if allowed is None else int(allowed.sum())
    if keep_count > alive:
        raise ValueError(
            f"target weight sparsity {sparsity} keeps {keep_count} weights but the existing masks keep only {alive} "
            f"(sparsity {1 - alive / total:.4f}); targets must not decrease"
        )
    return _split_flat(params, _keep_top(magnitude, allowed, keep_count))


def _as_factor(mask: torch.Tensor) -> torch.Tensor:
    """A boolean mask as 0/1 bytes.

    The same products, but float * uint8 runs several times faster than float * bool on CPU.
    """
    return mask.view(torch.uint8) if mask.dtype == torch.bool else mask


def apply_weight_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero, in place, the counted weights where ``masks`` is False (parameters not named are left alone)."""
    params = check_masks(model, masks)
    with torch.no_grad():
        for name, mask in masks.items():
            # = masked_fill_(~mask, 0.0), faster (see l0_projection): pruned weights become +0.0, kept ones stay
            params[name].mul_(_as_factor(torch.as_tensor(mask).to(params[name].device))).add_(0.0)


def l0_projection(
    model: nn.Module,
    k: int | None = None,
    *,
    sparsity: float | None = None,
    masks: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Project the counted weights onto the l0 ball: keep exactly ``k`` largest-magnitude weights, zero the rest.

    This is TEDDY's projected-gradient-descent step; pass it to ``train_node`` as
    ``after_step=functools.partial(l0_projection, k=k)``. Give either ``k`` or ``sparsity`` (then
    ``k = n - round(sparsity * n)``). With ``masks`` only weights they keep may survive. Returns the keep-masks.
    """
    if (k is None) == (sparsity is None):
        raise ValueError("l0_projection needs exactly one of k (weights kept) or sparsity")
    params, magnitude, allowed = _flat_scores(model, masks)
    total = magnitude.numel()
    if k is None:
        k = total - round(check_sparsity(sparsity) * total)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k (weights kept) must be a non-negative int, got {k!r}")
    alive = total if allowed is None else int(allowed.sum())
    if k > alive:
        raise ValueError(f"l0_projection asked to keep k={k} weights but only {alive} of {total} are allowed")
    keep = _split_flat(params, _keep_top(magnitude, allowed, k))
    with torch.no_grad():
        for name, mask in keep.items():
            # what masked_fill_(~mask, 0.0) gives, in a fraction of its time on CPU: the product leaves -0.0 where
            # a negative weight is pruned, and adding +0.0 turns that into +0.0 (kept weights pass unchanged)
            params[name].mul_(_as_factor(mask)).add_(0.0)
    return keep


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of counted weights (see the module docstring) that are exactly zero."""
    params = prunable_parameters(model)
    total = sum(p.numel() for p in params.values())
    if total == 0:
        return 0.0
    zeros = sum(int((p.detach() == 0).sum()) for p in params.values())
    return zeros / total
