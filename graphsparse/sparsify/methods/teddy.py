r"""TEDDY: one-shot edge sparsification guided by edge degrees.

Seo et al., "A Simple yet Effective Lottery Ticket Hypothesis for Graph Neural Networks: TEDDY", ICLR 2024.

Edge scores are computed once on the seed's original graph (:func:`~graphsparse.sparsify.edges.teddy_edge_scores`),
so the keep-masks of successive levels are nested; the weights are projected onto the l0 ball of the level's weight
sparsity after every optimizer step (projected gradient descent) from the seed's θ0. With ``distill = λ > 0`` the
loss is :math:`\mathrm{CE} + \lambda\,\mathrm{KL}(p_T \,\|\, p_S)` over all nodes, :math:`p_T` the soft labels of a
dense teacher trained from the same θ0 on the unpruned graph (the paper's λ = 10 is the CLI default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from ...graph import Graph
from ...presets import GLT_DISTILL as TEDDY_DISTILL  # the TEDDY paper's λ = 10
from ...validation import check_float
from ..edges import teddy_edge_scores
from .base import MethodOption, MethodSetup, OneShotMethod, SeedJob, WeightRule

if TYPE_CHECKING:
    from ..units import SearchContext

__all__ = ["Teddy", "TEDDY_DISTILL"]


@dataclass(frozen=True)
class Teddy(OneShotMethod):
    """TEDDY edge scores, l0-projected weights, optional distillation (``distill`` = λ).

    Args:
        distill: λ of the distillation term (0 = off).
    """

    distill: float = 0.0

    name: ClassVar[str] = "teddy"
    options: ClassVar[tuple[MethodOption, ...]] = (
        MethodOption(
            "distill",
            "λ of TEDDY's distillation term (CE + λ·KL to a dense teacher, all nodes); node task only "
            "(default: 10, the TEDDY paper's; 0 = off)",
        ),
    )

    def __post_init__(self) -> None:
        """Check ``distill`` (a finite number >= 0).

        Raises:
            ValueError: ``distill`` out of range.
        """
        object.__setattr__(self, "distill", check_float("distill (λ of the distillation term)", self.distill, 0.0))

    @classmethod
    def configure(cls, setup: MethodSetup, **values: Any) -> Teddy:
        """TEDDY with ``distill`` given, else the paper's λ for node classification (0 for other tasks).

        Args:
            setup: dataset, preset and task of the search.
            **values: option values by name (``distill``); None leaves the default.

        Returns:
            The configured method.

        Raises:
            ValueError: a non-zero ``distill`` for a task other than node classification.
        """
        distill = values.get("distill")
        if distill is None:
            distill = TEDDY_DISTILL if setup.task == "node" else 0.0
        elif distill and setup.task != "node":
            raise ValueError(f"--distill is defined for node classification only, not --task {setup.task}")
        return cls(distill=distill)

    @property
    def label(self) -> str:
        """``"teddy"``, or with distillation ``"teddy + KD (λ = ...)"``."""
        return f"teddy + KD (λ = {self.distill:g})" if self.distill else "teddy"

    @property
    def teacher_weight(self) -> float:
        """λ of the distillation term (``distill``)."""
        return self.distill

    def key_tag(self, schedule: Any, level: Any) -> str:
        """``|distill=λ`` when distilling, else nothing."""
        return f"|distill={self.distill:g}" if self.distill else ""

    def edge_scores(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor:
        """TEDDY's degree-guided scores of the seed's graph, computed once per seed (and process)."""
        # computed once per seed graph (and process): every level's mask comes from the same scores
        return ctx.memo(("teddy-scores", job.seed_index), lambda: teddy_edge_scores(graph))

    def weight_rule(self, model: nn.Module, job: SeedJob) -> WeightRule:
        """Projection onto the l0 ball of the level's weight sparsity after every step."""
        return WeightRule("l0", sparsity=job.level.weight_sparsity)
