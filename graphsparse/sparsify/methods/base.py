"""The interface every GLT method implements (:class:`GLTMethod`), and :class:`OneShotMethod`.

:class:`OneShotMethod` is the base of the methods that prune each level independently from θ0 (a level's edge
scores and weight rule, nothing else).

A method is one class with its whole logic, in the style of :mod:`torch.nn.utils.prune`: how a seed of a level
is trained (:meth:`GLTMethod.train_seed`), how its ticket is re-derived without training
(:meth:`GLTMethod.rederive`), what it adds to the store key (:meth:`GLTMethod.key_tag`), its options and their
defaults (:meth:`GLTMethod.configure`), and whether it is iterative (round k starts from round k-1's state) or
one-shot. The search (:mod:`graphsparse.sparsify.search`) never looks at a method's name.
"""

from __future__ import annotations

import functools
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from ...data.edgemask import PackedEdgeMask
from ...graph import Graph
from ...validation import check_float, check_int
from ..edges import edge_keep_mask
from ..records import Level, SeedOutcome, SeedRun, Teacher, TicketMaterial
from ..weights import apply_weight_masks, l0_projection, prunable_parameters, weight_sparsity

if TYPE_CHECKING:
    from ..units import SearchContext

__all__ = [
    "GLTMethod",
    "OneShotMethod",
    "MethodOption",
    "MethodSetup",
    "SeedJob",
    "WeightRule",
    "state_copy",
    "trained_masks",
    "seed_run",
]


@dataclass(frozen=True)
class MethodSetup:
    """What a method's defaults may depend on: the dataset, the preset and the task of the search."""

    dataset: str = ""
    preset: str | None = None
    task: str = "node"


@dataclass(frozen=True)
class MethodOption:
    """An option of a method, exposed as ``--<name>`` by ``graphsparse glt``.

    Attributes:
        name: the option (a field of the method's dataclass).
        help: its help text.
        convert: the type a command-line value is read as (``float`` or ``int``).
        minimum: the smallest value allowed (None: no bound).
        include_minimum: whether ``minimum`` itself is allowed.
    """

    name: str
    help: str
    convert: Callable[[Any], Any] = float
    minimum: float | None = 0.0
    include_minimum: bool = True

    def check(self, what: str, value: Any) -> Any:
        """``value`` checked (finite, within bounds) and converted; errors start with ``what``.

        Raises:
            ValueError: the value is not a finite number of the option's type or lies below its minimum.
        """
        if self.convert is int:
            minimum = None if self.minimum is None else int(self.minimum) + (0 if self.include_minimum else 1)
            return check_int(what, value, minimum)
        return check_float(what, value, self.minimum, include_minimum=self.include_minimum)


@dataclass(frozen=True)
class SeedJob:
    """One seed of one level: what a unit trains.

    ``state`` is the previous round's (iterative methods), ``teacher`` the distillation teacher (methods that ask
    for one).
    """

    level: Level
    seed_index: int
    seed: int
    state: dict[str, Any] | None = None
    teacher: Teacher | None = None
    want_material: bool = False
    want_outputs: bool = False


@dataclass
class WeightRule:
    """How a level treats the counted weights while training.

    ``"none"``, fixed ``"masks"`` (re-applied after every optimizer step) or ``"l0"`` (projection onto the l0 ball
    of ``sparsity`` after every step, TEDDY).
    """

    kind: str = "none"
    masks: dict[str, torch.Tensor] | None = None
    sparsity: float = 0.0

    def start(self, model: nn.Module) -> Callable[[nn.Module], None] | None:
        """Apply the rule to θ0 and return the hook to run after every optimizer step (or None)."""
        if self.kind == "l0":
            hook = functools.partial(l0_projection, sparsity=self.sparsity)
        elif self.kind == "masks" and self.masks:
            hook = functools.partial(apply_weight_masks, masks=self.masks)
        else:
            return None
        hook(model)
        return hook


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of ``model``'s state dict."""
    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}


def trained_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """The non-zeros of the counted weights (the weight masks of a trained l0-projected or dense model)."""
    return {name: p.detach().cpu() != 0 for name, p in prunable_parameters(model).items()}


def seed_run(result: Mapping[str, Any], graph: Graph, pruned: Graph, model: nn.Module, start: float) -> SeedRun:
    """The record of a trained seed: scores, measured sparsities, seconds since ``start``."""
    epoch = result.get("best_epoch")
    return SeedRun(
        val=float(result["val"]),
        test=float(result["test"]),
        best_epoch=None if epoch is None else int(epoch),
        graph_sparsity=1.0 - pruned.num_edges / graph.num_edges if graph.num_edges else 0.0,
        weight_sparsity=weight_sparsity(model),
        seconds=time.perf_counter() - start,
    )


class GLTMethod(ABC):
    """A graph lottery ticket method.

    Subclasses set ``name`` and implement :meth:`train_seed` and :meth:`rederive`; register them with
    :func:`graphsparse.sparsify.methods.register_method`.

    Attributes:
        name: the registry name (``--method NAME``), lower case.
        iterative: round k needs round k-1's state (UGS); the search chains the rounds of a seed in order and
            requires the levels to be rounds 1..K with non-decreasing sparsity.
        learns_edge_values: the method trains values on the edges (the model must accept ``edge_values``).
        options: the method's options (``graphsparse glt --<name>``).
        search_space: the tuner's space of the method's options (``graphsparse tune --method NAME``), as
            :mod:`graphsparse.tuning.space` entries with target ``"method"``.
    """

    name: ClassVar[str] = ""
    iterative: ClassVar[bool] = False
    learns_edge_values: ClassVar[bool] = False
    options: ClassVar[tuple[MethodOption, ...]] = ()
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def configure(cls, setup: MethodSetup, **values: Any) -> GLTMethod:
        """The method with its defaults for ``setup`` and the given option ``values`` (None = default).

        Args:
            setup: dataset, preset and task of the search.
            **values: option values by name; None leaves the default.

        Returns:
            The configured method.
        """
        return cls(**{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_provenance(cls, provenance: Mapping[str, Any]) -> GLTMethod:
        """The method as a saved ticket records it (its :meth:`describe` values in the provenance)."""
        names = {o.name for o in cls.options}
        return cls(**{k: provenance[k] for k in names if provenance.get(k) is not None})

    def describe(self) -> dict[str, Any]:
        """The method's option values (JSON-able; recorded in the output and in tickets)."""
        return {o.name: getattr(self, o.name) for o in self.options}

    @property
    def label(self) -> str:
        """How tables and plots name the method."""
        return self.name

    @property
    def teacher_weight(self) -> float:
        """λ of a distillation term; > 0 asks the search for the seed's dense teacher."""
        return 0.0

    def key_tag(self, schedule: Sequence[Level], level: Level) -> str:
        """What the method adds to a level's store key: change it and the level is recomputed.

        That is its options (:meth:`describe`), and for an iterative method the schedule up to ``level``. A
        method with neither adds nothing; a method may override this to keep keys it stored before.

        Args:
            schedule: the search's levels.
            level: the level whose key is made.

        Returns:
            ``|name=value`` for each option, then ``|after=g/w,...`` for an iterative method.
        """
        tags = [f"|{name}={json.dumps(value, sort_keys=True, default=str)}" for name, value in self.describe().items()]
        if self.iterative:
            tags.append("|after=" + ",".join(f"{g:.6f}/{w:.6f}" for r, g, w in schedule if r <= level[0]))
        return "".join(tags)

    def check_levels(self, levels: Sequence[Level]) -> None:
        """Refuse a schedule the method cannot run (iterative: rounds 1..K, sparsities non-decreasing).

        Raises:
            ValueError: naming the rounds or sparsities that do not fit.
        """
        if not self.iterative:
            return
        if [k for k, _, _ in levels] != list(range(1, len(levels) + 1)):
            raise ValueError(
                f"{self.name} runs its rounds in order: level rounds must be 1..{len(levels)}, got {list(levels)!r}"
            )
        for (_, g0, w0), (k, g1, w1) in zip(levels, levels[1:]):
            if g1 < g0 or w1 < w0:
                raise ValueError(
                    f"{self.name} level sparsities must not decrease (round {k}: {g1}/{w1} after {g0}/{w0})"
                )

    @abstractmethod
    def train_seed(self, ctx: SearchContext, job: SeedJob) -> SeedOutcome:
        """Train one seed of one level from θ0 (``ctx.build(job.seed)``) and score its ticket.

        Args:
            ctx: the search's task (trainer), model factory and device.
            job: the level, seed, previous state and teacher.

        Returns:
            The seed's run, its ticket material when ``job.want_material``, the state the next round starts
            from (iterative methods) and, with ``job.want_outputs``, the trained model's outputs.
        """

    @abstractmethod
    def rederive(self, ctx: SearchContext, job: SeedJob) -> TicketMaterial:
        """A stored seed's ticket without training (``job.state``: the level's stored state of the seed)."""


class OneShotMethod(GLTMethod):
    """A method that prunes each level on its own, from θ0.

    Edges by :meth:`edge_scores` (lowest removed first), weights by :meth:`weight_rule`. Subclasses implement those
    two.
    """

    @abstractmethod
    def edge_scores(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor:
        """One score per undirected edge id of ``graph`` (the seed's graph); the lowest are pruned first."""

    def weight_rule(self, model: nn.Module, job: SeedJob) -> WeightRule:
        """How the level's weights are pruned (called at θ0, only when its weight sparsity is > 0)."""
        return WeightRule()

    def edge_keep(self, ctx: SearchContext, graph: Graph, job: SeedJob) -> torch.Tensor | PackedEdgeMask:
        """The level's keep-mask over the edge ids of ``graph`` (all kept at graph sparsity 0).

        Keep-bits when the scores are a disk graph's (memory-mapped).
        """
        return edge_keep_mask(self.edge_scores(ctx, graph, job), job.level.graph_sparsity)

    def train_seed(self, ctx: SearchContext, job: SeedJob) -> SeedOutcome:
        """Train θ0 on the level's pruned graph under its weight rule (see :meth:`GLTMethod.train_seed`)."""
        start = time.perf_counter()
        graph = ctx.task.graph_for_seed(job.seed_index, job.seed)
        keep = self.edge_keep(ctx, graph, job)
        pruned = graph if bool(keep.all()) else graph.keep_edges(keep)
        teacher = job.teacher
        if teacher is not None:
            teacher = Teacher(teacher.logits.to(ctx.device), teacher.weight)
        model = ctx.build(job.seed)
        theta0 = state_copy(model) if job.want_material else None
        rule = self.weight_rule(model, job) if job.level.weight_sparsity > 0 else WeightRule()
        after_step = rule.start(model)
        result = ctx.task.fit(
            pruned, model, seed=job.seed, seed_index=job.seed_index, after_step=after_step, teacher=teacher
        )
        run = seed_run(result, graph, pruned, model, start)
        material = None
        if theta0 is not None:  # fixed masks, or (l0 projection, dense) the trained model's non-zeros
            masks = rule.masks if rule.masks is not None else trained_masks(model)
            material = TicketMaterial(
                job.seed,
                job.seed_index,
                _cpu_keep(keep),
                _bool_masks(masks),
                theta0,
                rule.kind,
                trained_state=state_copy(model),
                run=run,
                test=run.test,
            )
        outputs = ctx.task.predict(graph, model) if job.want_outputs else None
        return SeedOutcome(run=run, material=material, teacher_logits=outputs)

    def rederive(self, ctx: SearchContext, job: SeedJob) -> TicketMaterial:
        """The level's edge keep-mask and weight masks from θ0, without training (an l0 ticket gets no masks)."""
        graph = ctx.task.graph_for_seed(job.seed_index, job.seed)
        model = ctx.build(job.seed)
        theta0 = state_copy(model)
        keep = self.edge_keep(ctx, graph, job)
        rule = self.weight_rule(model, job) if job.level.weight_sparsity > 0 else WeightRule()
        # an l0 ticket's masks are the trained model's non-zeros, which only retraining gives
        masks = rule.masks or {}
        return TicketMaterial(job.seed, job.seed_index, _cpu_keep(keep), _bool_masks(masks), theta0, rule.kind)


def _cpu_keep(keep: torch.Tensor | PackedEdgeMask) -> torch.Tensor | PackedEdgeMask:
    """A level's edge keep-mask as a ticket holds it: a CPU bool tensor, or keep-bits as they are (a disk graph)."""
    return keep if isinstance(keep, PackedEdgeMask) else keep.detach().cpu().bool()


def _bool_masks(masks: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {n: m.detach().cpu().bool() for n, m in masks.items()}
