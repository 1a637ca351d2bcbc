"""One result type for every kind of run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .loop import FitResult

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """One finished run: scores at the epoch chosen on validation, keyed ``<part>_<metric>``.

    ``metric`` names the selection metric (``"acc"``, ``"roc_auc"``, ``"auc"``); ``scores`` holds e.g.
    ``{"train_acc": .., "val_acc": .., "test_acc": ..}`` or, for link prediction, ``val_auc``, ``test_ap``,
    ``test_hits@20``, ... ``extra`` holds run-specific numbers (peak memory, candidate counts).
    """

    seed: int
    split: str
    metric: str
    scores: dict[str, float]
    best_epoch: int
    epochs_run: int
    seconds: float
    epoch_seconds: float
    history: list[dict[str, float]] = field(default_factory=list, repr=False)
    extra: dict[str, Any] = field(default_factory=dict)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def from_fit(
        cls,
        run: FitResult,
        *,
        seed: int,
        split: str,
        metric: str,
        scores: dict[str, float],
        extra: dict[str, Any] | None = None,
    ) -> RunResult:
        """Build the result of a run that :func:`~graphsparse.train.fit` trained.

        It holds the run's epochs, timing, history and best state, with the trainer's final ``scores``.
        """
        return cls(
            seed=int(seed),
            split=split,
            metric=metric,
            scores=scores,
            best_epoch=run.best_epoch,
            epochs_run=run.epochs_run,
            seconds=run.seconds,
            epoch_seconds=run.epoch_seconds,
            history=run.history,
            extra=dict(extra or {}),
            best_state=run.best_state,
        )

    def __getattr__(self, name: str) -> float:
        """Read a score (or an extra) as an attribute, named by its metric: ``result.test_acc``.

        Raises:
            AttributeError: no score or extra has that name.
        """
        # scores (and extras) read as attributes, named by their metric: result.test_acc, result.val_roc_auc
        for table in (self.__dict__.get("scores", {}), self.__dict__.get("extra", {})):
            if name in table:
                return table[name]
        known = sorted(self.__dict__.get("scores", {}))
        raise AttributeError(f"{type(self).__name__} has no attribute or score {name!r}; scores: {known}")

    @property
    def val(self) -> float:
        """The validation score of the selection metric."""
        return self.scores[f"val_{self.metric}"]

    @property
    def test(self) -> float:
        """The test score of the selection metric."""
        return self.scores[f"test_{self.metric}"]

    def metrics(self) -> dict[str, Any]:
        """A flat, JSON-able dict: seed, split, metric, every score, epochs, timing and extras."""
        out: dict[str, Any] = {"seed": self.seed, "split": self.split, "metric": self.metric}
        out.update(self.scores)
        out.update(
            best_epoch=self.best_epoch,
            epochs_run=self.epochs_run,
            seconds=self.seconds,
            epoch_seconds=self.epoch_seconds,
        )
        out.update(self.extra)
        return out
