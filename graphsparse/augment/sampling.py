r"""Relaxed-Bernoulli straight-through sampling of edges (GAug-O's graph sampler).

Given edge probabilities :math:`p`, the relaxed Bernoulli (binary Concrete, Maddison et al. 2017; Jang et al.
2017) sample with temperature :math:`T` is

.. math::
    \tilde a = \sigma\!\Big(\tfrac{1}{T}\big(\log p - \log(1 - p) + \log u - \log(1 - u)\big)\Big),
    \qquad u \sim \mathcal U(0, 1),

and the straight-through estimator returns :math:`\operatorname{round}(\tilde a)` in the forward pass while the
backward pass uses :math:`\partial \tilde a / \partial p` (Bengio et al. 2013), as pyro's
``RelaxedBernoulliStraightThrough`` does in the GAug reference.
"""

from __future__ import annotations

import torch

__all__ = ["relaxed_bernoulli_st", "relaxed_bernoulli_soft"]

_EPS = 1e-6


def relaxed_bernoulli_soft(
    probs: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The relaxed (soft) Bernoulli sample in (0, 1), differentiable in ``probs``."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    p = probs.clamp(_EPS, 1.0 - _EPS)
    u = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).clamp(_EPS, 1.0 - _EPS)
    logits = torch.log(p) - torch.log1p(-p) + torch.log(u) - torch.log1p(-u)
    return torch.sigmoid(logits / temperature)


def relaxed_bernoulli_st(
    probs: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A 0/1 sample (forward) whose gradient is that of the relaxed sample (backward)."""
    soft = relaxed_bernoulli_soft(probs, temperature, generator)
    hard = (soft > 0.5).to(soft.dtype)
    return hard + (soft - soft.detach())
