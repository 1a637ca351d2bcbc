r"""WD-GLT: graph lottery tickets with a Wasserstein-distance term.

Hui et al., "Rethinking Graph Lottery Tickets: Graph Sparsity Matters", ICLR 2023, as the TEDDY authors run it as
a baseline (hyunjin72/TEDDY, ``main_baseline.py --type wasserstein``).

Each round trains soft edge and weight masks from θ0 (as UGS, :mod:`.ugs`, but without l1 penalties) on

.. math::
    \mathcal{L} = \mathrm{CE} - \lambda \sum_{c} W_\varepsilon\big(P_c, Q_c\big),

where, from the training forward pass, every node gets its predicted class :math:`\hat y_i`; :math:`P_c` is the
uniform distribution over the softmax outputs of the nodes predicted :math:`c` and :math:`Q_c` over the other
nodes (classes predicted for no node or for all are skipped), and :math:`W_\varepsilon` is the entropic optimal
transport cost under the Euclidean distance, :math:`\sum_{ij} P_{ij} M_{ij}` after ``sinkhorn_iters``
log-domain Sinkhorn iterations (gradients through all of them). The loss *maximises* the separation of the
predicted classes. The edge mask is clamped to [0, 1] after every step; the masks are shrunk by the optimiser's
weight decay only. The masks of the best-validation epoch are binarised to the level's targets, the weights
rewound to θ0 and the ticket retrained, as UGS does.

Defaults are the reference's: λ = 0.1, ε = 1e-3, 10 iterations, all nodes. ``wd_nodes = n > 0`` computes the term
on n nodes drawn uniformly each epoch (a generator seeded with the run's seed): the full term costs
:math:`O(N^2)` per iteration, about 6M pairs on Cora.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from ...graph import Graph
from ...validation import check_float, check_int
from ..records import Level
from .base import MethodOption, SeedJob
from .ugs import UGS_INIT_NOISE, MaskedTrainingMethod, UGSMasked

if TYPE_CHECKING:
    from ..units import SearchContext

__all__ = ["WDGLT", "sinkhorn_cost", "class_separation"]


def sinkhorn_cost(x: torch.Tensor, y: torch.Tensor, *, eps: float = 1e-3, iters: int = 10) -> torch.Tensor:
    r"""Entropic optimal transport cost between the uniform distributions on the rows of ``x`` and ``y``.

    Log-domain Sinkhorn (``iters`` iterations at most, stopping when both potentials move by less than 1e-5),
    Euclidean ground cost :math:`M`; returns :math:`\sum_{ij} P_{ij} M_{ij}` for the final plan :math:`P`.

    Args:
        x: ``[n, d]`` points of the first distribution.
        y: ``[m, d]`` points of the second.
        eps: entropic regularisation ε.
        iters: Sinkhorn iterations.

    Returns:
        A scalar tensor, differentiable w.r.t. ``x`` and ``y``.
    """
    squared = (x * x).sum(1, keepdim=True) + (y * y).sum(1) - 2.0 * (x @ y.T)
    cost = torch.sqrt(squared.clamp_min(0.0) + 1e-12)  # the tiny shift keeps the gradient finite at distance 0
    log_a, log_b = -math.log(x.shape[0]), -math.log(y.shape[0])
    u = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    v = torch.full((y.shape[0],), eps * log_b, dtype=x.dtype, device=x.device)
    for _ in range(iters):
        u_before, v_before = u, v
        u = eps * (log_a - torch.logsumexp((v[None, :] - cost) / eps, dim=1))
        v = eps * (log_b - torch.logsumexp((u[:, None] - cost) / eps, dim=0))
        if float((u - u_before).detach().abs().max()) < 1e-5 and float((v - v_before).detach().abs().max()) < 1e-5:
            break
    plan = torch.exp((u[:, None] + v[None, :] - cost) / eps)
    return (plan * cost).sum()


def class_separation(logits: torch.Tensor, *, eps: float = 1e-3, iters: int = 10) -> torch.Tensor:
    r""":math:`\sum_c W_\varepsilon(P_c, Q_c)` over the predicted classes of ``logits`` (see the module docstring).

    Args:
        logits: ``[n, C]`` model outputs.
        eps: entropic regularisation of :func:`sinkhorn_cost`.
        iters: its iterations.

    Returns:
        A scalar tensor (0 when every node is predicted the same class).
    """
    probs = F.softmax(logits, dim=-1)
    predicted = logits.detach().argmax(dim=-1)
    total = logits.new_zeros(())
    for c in torch.unique(predicted).tolist():
        inside = predicted == c
        if bool(inside.all()):
            continue
        total = total + sinkhorn_cost(probs[inside], probs[~inside], eps=eps, iters=iters)
    return total


@dataclass(frozen=True)
class WDGLT(MaskedTrainingMethod):
    """WD-GLT: soft masks trained with the Wasserstein class-separation term, one round per level.

    Args:
        wd_lambda: λ of the Wasserstein term.
        wd_eps: ε of the entropic transport.
        wd_iters: Sinkhorn iterations.
        wd_nodes: nodes the term is computed on, drawn each epoch (0 = all nodes, the reference).
    """

    wd_lambda: float = 0.1
    wd_eps: float = 1e-3
    wd_iters: int = 10
    wd_nodes: int = 0

    name: ClassVar[str] = "wd-glt"
    options: ClassVar[tuple[MethodOption, ...]] = (
        MethodOption("wd_lambda", "WD-GLT: λ of the Wasserstein class-separation term (default: 0.1)"),
        MethodOption("wd_eps", "WD-GLT: entropic ε of the Sinkhorn transport (default: 1e-3)", include_minimum=False),
        MethodOption("wd_iters", "WD-GLT: Sinkhorn iterations (default: 10)", int, minimum=1),
        MethodOption(
            "wd_nodes",
            "WD-GLT: nodes the Wasserstein term is computed on, drawn each epoch (default: 0 = all nodes, the "
            "reference; the term is O(N^2))",
            int,
        ),
    )
    search_space: ClassVar[dict[str, dict[str, Any]]] = {
        "wd_lambda": {"type": "float", "low": 1e-3, "high": 10.0, "log": True, "target": "method"},
    }

    def __post_init__(self) -> None:
        """Check the options (``wd_lambda`` >= 0, ``wd_eps`` > 0, ``wd_iters`` >= 1, ``wd_nodes`` >= 0).

        Raises:
            ValueError: an option out of range.
        """
        object.__setattr__(self, "wd_lambda", check_float("WD-GLT wd_lambda", self.wd_lambda, 0.0))
        object.__setattr__(self, "wd_eps", check_float("WD-GLT wd_eps", self.wd_eps, 0.0, include_minimum=False))
        object.__setattr__(self, "wd_iters", check_int("WD-GLT wd_iters", self.wd_iters, 1))
        object.__setattr__(self, "wd_nodes", check_int("WD-GLT wd_nodes", self.wd_nodes, 0))

    def key_tag(self, schedule: Sequence[Level], level: Level) -> str:
        """The options, the initial noise and every level of the schedule up to this one."""
        done = ",".join(f"{g:.6f}/{w:.6f}" for r, g, w in schedule if r <= level[0])
        return (
            f"|lambda={self.wd_lambda:g}|eps={self.wd_eps:g}|iters={self.wd_iters}|nodes={self.wd_nodes}"
            f"|noise={UGS_INIT_NOISE:g}|after={done}"
        )

    def train_masks(self, ctx: SearchContext, graph: Graph, masked: UGSMasked, job: SeedJob) -> None:
        """Train the masks and weights on CE minus λ times the Wasserstein class separation (edge mask in [0, 1])."""
        generator = torch.Generator().manual_seed(int(job.seed))
        lam, eps, iters, nodes = self.wd_lambda, self.wd_eps, self.wd_iters, self.wd_nodes

        def separation_loss(logits: torch.Tensor) -> torch.Tensor:
            if 0 < nodes < logits.shape[0]:
                logits = logits[torch.randperm(logits.shape[0], generator=generator)[:nodes].to(logits.device)]
            return -lam * class_separation(logits, eps=eps, iters=iters)

        def clamp_edge_mask(model: Any) -> None:
            with torch.no_grad():
                masked.edge_mask.clamp_(0.0, 1.0)

        ctx.task.fit(
            graph,
            masked,
            seed=job.seed,
            seed_index=job.seed_index,
            output_loss=separation_loss,
            after_step=clamp_edge_mask,
        )
