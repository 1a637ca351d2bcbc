"""Random pruning, the control of every GLT table: random edges and random weights at the level's sparsity.

Edge scores come from a generator seeded with the run's seed, so the masks of successive levels are nested; the
weight mask is drawn uniformly over all counted weights and re-applied after every optimizer step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from ...graph import Graph
from ..edges import check_sparsity, random_edge_scores
from ..weights import prunable_parameters
from .base import OneShotMethod, SeedJob, WeightRule

if TYPE_CHECKING:
    from ..units import SearchContext

__all__ = ["RandomPruning", "random_weight_masks"]


def random_weight_masks(model: nn.Module, sparsity: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random keep-masks removing ``round(sparsity * n)`` of the counted weights, chosen uniformly (seeded).

    Args:
        model: the model whose counted weights are masked.
        sparsity: fraction of the counted weights removed, in [0, 1).
        seed: seed of the generator.

    Returns:
        One boolean keep-mask per counted weight.
    """
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


@dataclass(frozen=True)
class RandomPruning(OneShotMethod):
    """Random edges and random weights at the level's sparsity (seeded by the run's seed)."""

    name: ClassVar[str] = "random"

    def edge_scores(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor:
        """Random scores per edge id, seeded by the run's seed."""
        return random_edge_scores(graph, seed=job.seed)

    def weight_rule(self, model: nn.Module, job: SeedJob) -> WeightRule:
        """Fixed random weight masks at the level's weight sparsity, seeded by the run's seed."""
        return WeightRule("masks", masks=random_weight_masks(model, job.level.weight_sparsity, seed=job.seed))
