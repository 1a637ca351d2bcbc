"""The work units of a GLT search: one (method, level, seed) each, runnable in any process.

:func:`~graphsparse.sparsify.search.glt_search` plans the units and an executor (:mod:`graphsparse.parallel`)
runs them, here or on Ray workers. A unit is a top-level function of the search's :class:`SearchContext` (the
trainer with its graph, the model factory and the device; shipped to workers once), the method (a small frozen
dataclass) and a :class:`~graphsparse.sparsify.methods.base.SeedJob`; it returns a
:class:`~graphsparse.sparsify.records.SeedOutcome` and never writes the results store or ticket files: the
driver does, as each unit arrives.

- :func:`method_unit`: one seed of one level of a method (the dense baseline is the internal method
  :class:`DenseBaseline`); ``teacher`` and ``previous`` are the outcomes of the seed's dense teacher and of the
  round before (iterative methods), so a unit waits for exactly what it needs.
- :func:`teacher_unit`: the dense teacher of a seed when the dense level is not trained in this run.

Every unit starts from ``seed_everything(seed)`` and the model built after it (θ0), so its numbers do not depend
on which process runs it or what ran there before: serial and parallel searches give identical results.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch
from torch import nn

from ..graph import Graph
from ..utils import seed_everything
from .methods.base import OneShotMethod, SeedJob
from .records import SeedOutcome, Teacher

if TYPE_CHECKING:
    from ..tasks.glt import GLTTask
    from .methods.base import GLTMethod

__all__ = ["SearchContext", "DenseBaseline", "method_unit", "teacher_unit"]

T = TypeVar("T")


class SearchContext:
    """What every unit of one search shares.

    The trainer (task), the model factory, the device, and per process what methods computed once (:meth:`memo`).
    """

    def __init__(self, task: GLTTask, model_factory: Callable[[], nn.Module], device: torch.device | str) -> None:
        """Hold the search's shared parts.

        Args:
            task: the trainer of the search's task.
            model_factory: builds a fresh model (θ0 after seeding).
            device: where models are built.
        """
        self.task, self.model_factory, self.device = task, model_factory, device
        self._memo: dict[Hashable, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """The context to pickle for a worker, without this process's memo."""
        # what a process computed stays there: a worker computes what it needs
        return {**self.__dict__, "_memo": {}}

    def build(self, seed: int) -> nn.Module:
        """θ0 of ``seed``: the same for every method and level."""
        seed_everything(seed)
        return self.model_factory().to(self.device)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` in this process (e.g. a method's edge scores of a seed's graph)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def dense_outputs(self, seed_index: int, seed: int) -> torch.Tensor:
        """Outputs of a dense model trained from θ0 on the seed's unpruned graph (a distillation teacher)."""
        graph: Graph = self.task.graph_for_seed(seed_index, seed)
        model = self.build(seed)
        self.task.fit(graph, model, seed=seed, seed_index=seed_index)
        return self.task.predict(graph, model)


@dataclass(frozen=True)
class DenseBaseline(OneShotMethod):
    """The unpruned model of every search (round 0): all edges, all weights. Not a registered method."""

    name: ClassVar[str] = "dense"

    def edge_keep(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor:
        """Every edge of ``graph`` kept."""
        return torch.ones(graph.num_edges, dtype=torch.bool)

    def edge_scores(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor:
        """A score of 1 for every edge (none is pruned)."""
        return torch.ones(graph.num_edges)


def method_unit(
    ctx: SearchContext,
    method: GLTMethod,
    job: SeedJob,
    teacher: SeedOutcome | None = None,
    previous: SeedOutcome | None = None,
) -> SeedOutcome:
    """Train ``job`` with ``method``.

    ``teacher``: the outcome holding the seed's dense outputs (used when the method asks for a teacher);
    ``previous``: the round before's outcome (iterative methods).
    """
    if teacher is not None and method.teacher_weight > 0:
        job = replace(job, teacher=Teacher(teacher.teacher_logits, method.teacher_weight))
    if previous is not None:
        job = replace(job, state=previous.state)
    return method.train_seed(ctx, job)


def teacher_unit(ctx: SearchContext, seed_index: int, seed: int) -> SeedOutcome:
    """The dense teacher of one seed (its outputs in ``teacher_logits``), trained on its own."""
    return SeedOutcome(teacher_logits=ctx.dense_outputs(seed_index, seed))
