"""Typed records of a GLT search.

A level of the schedule, one seed's run, a ticket's material, a unit's outcome and a level's result (what
:func:`~graphsparse.sparsify.search.glt_search` yields and stores).

Stored payloads keep the metric's name in their keys (``test_acc_mean`` for node classification,
``test_auc_mean`` for link prediction) beside ``task`` and ``metric``; :meth:`LevelResult.from_payload` reads them
back whatever the metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import torch

from ..tasks.glt import Teacher

__all__ = ["Level", "SeedRun", "TicketMaterial", "SeedOutcome", "Teacher", "LevelResult"]


class Level(NamedTuple):
    """One level of the schedule: its round and the target graph and weight sparsities (fractions removed)."""

    round: int
    graph_sparsity: float
    weight_sparsity: float


DENSE_LEVEL = Level(0, 0.0, 0.0)


@dataclass(frozen=True)
class SeedRun:
    """What the driver keeps of one trained seed: scores, measured sparsities, training seconds."""

    val: float
    test: float
    best_epoch: int | None
    graph_sparsity: float
    weight_sparsity: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored as a level's part while its other seeds train)."""
        return {
            "val": self.val,
            "test": self.test,
            "best_epoch": self.best_epoch,
            "graph_sparsity": self.graph_sparsity,
            "weight_sparsity": self.weight_sparsity,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedRun:
        """Inverse of :meth:`to_dict`."""
        epoch = data.get("best_epoch")
        return cls(
            val=float(data["val"]),
            test=float(data["test"]),
            best_epoch=None if epoch is None else int(epoch),
            graph_sparsity=float(data["graph_sparsity"]),
            weight_sparsity=float(data["weight_sparsity"]),
            seconds=float(data.get("seconds", 0.0)),
        )


@dataclass
class TicketMaterial:
    """What one seed's ticket of a level is made of.

    ``weight_rule`` says how retraining treats the weights: ``"masks"`` (the fixed ``weight_masks`` re-applied
    after every step), ``"l0"`` (projection onto the l0 ball of the level's weight sparsity) or ``"none"``.
    ``trained_state`` is present only when the level was trained in this run.
    """

    seed: int
    seed_index: int
    edge_keep: torch.Tensor
    weight_masks: dict[str, torch.Tensor]
    init_state: dict[str, torch.Tensor]
    weight_rule: str
    trained_state: dict[str, torch.Tensor] | None = None
    run: SeedRun | None = None
    test: float | None = None


@dataclass
class SeedOutcome:
    """What a unit returns.

    The seed's run, its ticket material (when asked for), the method's state for the next round (iterative
    methods: JSON-able) and, for the dense unit of a distilled search, the teacher's outputs.
    """

    run: SeedRun | None = None
    material: TicketMaterial | None = None
    state: dict[str, Any] | None = None
    teacher_logits: torch.Tensor | None = None


@dataclass
class LevelResult:
    """One (method, level) of a search over its seeds; scores are the task's metric (``metric``) as fractions.

    ``seconds`` is the training time summed over the seeds; ``cached`` whether the level was loaded from the
    store; ``states`` the per-seed method state an iterative method continues from; ``tickets`` the paths of the
    saved tickets.
    """

    method: str
    round: int
    target_graph_sparsity: float
    target_weight_sparsity: float
    graph_sparsity: float
    weight_sparsity: float
    test_mean: float
    test_std: float
    val_mean: float
    val_std: float
    test_scores: list[float]
    seeds: list[int]
    seconds: float
    task: str = "node"
    metric: str = "acc"
    label: str = ""
    states: list[dict[str, Any] | None] | None = None
    tickets: list[str] | None = None
    cached: bool = False
    key: str = ""
    materials: list[TicketMaterial | None] = field(default_factory=list, repr=False)

    @classmethod
    def from_runs(
        cls, method: str, level: Level, runs: list[SeedRun], seeds: list[int], *, task: str, metric: str
    ) -> LevelResult:
        """A level's result from its seeds' runs (population std over the seeds, as every stored table)."""
        tests = [r.test for r in runs]
        vals = [r.val for r in runs]
        return cls(
            method=method,
            round=int(level[0]),
            target_graph_sparsity=float(level[1]),
            target_weight_sparsity=float(level[2]),
            graph_sparsity=float(np.mean([r.graph_sparsity for r in runs])),
            weight_sparsity=float(np.mean([r.weight_sparsity for r in runs])),
            test_mean=float(np.mean(tests)),
            test_std=float(np.std(tests)),
            val_mean=float(np.mean(vals)),
            val_std=float(np.std(vals)),
            test_scores=tests,
            seeds=[int(s) for s in seeds],
            seconds=float(sum(r.seconds for r in runs)),
            task=task,
            metric=metric,
        )

    def to_payload(self) -> dict[str, Any]:
        """The stored (and ``--json``) form.

        Score keys carry the metric's name (``test_acc_mean``, ``test_auc_mean``).
        """
        m = self.metric
        out: dict[str, Any] = {
            "method": self.method,
            "round": self.round,
            "task": self.task,
            "metric": m,
            "target_graph_sparsity": self.target_graph_sparsity,
            "target_weight_sparsity": self.target_weight_sparsity,
            "graph_sparsity": self.graph_sparsity,
            "weight_sparsity": self.weight_sparsity,
            f"test_{m}_mean": self.test_mean,
            f"test_{m}_std": self.test_std,
            f"val_{m}_mean": self.val_mean,
            f"val_{m}_std": self.val_std,
            f"test_{m}s": self.test_scores,
            "seeds": self.seeds,
            "seconds": self.seconds,
        }
        if self.states is not None:
            out["method_state"] = self.states
        if self.tickets is not None:
            out["tickets"] = self.tickets
        return out

    @classmethod
    def from_payload(cls, payload: dict[str, Any], *, task: str = "node", metric: str = "acc") -> LevelResult:
        """A stored level; ``task``/``metric`` are the search's, used where the payload does not name them."""
        m = str(payload.get("metric", metric))
        if "metric" not in payload and f"test_{m}_mean" not in payload:
            m = "acc"  # written before 0.2.0, every metric under acc (docs/glt/migrate_store.py rewrites them)
        return cls(
            method=str(payload["method"]),
            round=int(payload["round"]),
            target_graph_sparsity=float(payload["target_graph_sparsity"]),
            target_weight_sparsity=float(payload["target_weight_sparsity"]),
            graph_sparsity=float(payload["graph_sparsity"]),
            weight_sparsity=float(payload["weight_sparsity"]),
            test_mean=float(payload[f"test_{m}_mean"]),
            test_std=float(payload[f"test_{m}_std"]),
            val_mean=float(payload[f"val_{m}_mean"]),
            val_std=float(payload[f"val_{m}_std"]),
            test_scores=[float(v) for v in payload[f"test_{m}s"]],
            seeds=[int(s) for s in payload["seeds"]],
            seconds=float(payload.get("seconds", 0.0)),
            task=str(payload.get("task", task)),
            metric=m,
            states=payload.get("method_state"),
            tickets=payload.get("tickets"),
        )

    def summary(self) -> dict[str, Any]:
        """The payload without the method state (what ``--json`` prints and tables read)."""
        out = self.to_payload()
        out.pop("method_state", None)
        return out

    def with_changes(self, **changes: Any) -> LevelResult:
        """A copy with some fields replaced."""
        return replace(self, **changes)
