"""The fit loop every trainer uses.

A trainer hands :func:`fit` two callables: ``train_epoch(epoch) -> loss`` (one epoch of optimizer steps; the
returned loss is the epoch's training loss) and ``validate() -> Validation`` (the model's score on validation
data, with an optional validation loss). The loop:

- keeps the state of the epoch with the best validation score. **Tie rule**: a higher score wins; at an equal
  score the lower validation loss wins (when the trainer reports one); otherwise the earlier epoch stays;
- stops early when ``patience`` epochs have passed since the best one (patience counts epochs, whatever
  ``eval_every`` is);
- stops with :class:`NonFiniteError` naming the epoch when the training loss or any parameter becomes NaN/inf
  (a diverged run must never be stored as a result), or when the validation score itself is NaN;
- records a per-evaluation history (epoch, loss, validation score and loss) and the training time per epoch
  (evaluation excluded);
- leaves the model in its best state.

``progress=True`` (or a label) shows the epochs on a tqdm bar on stderr that disappears when the run ends; the
commands pass it unless ``--no-progress`` is given.

``on_epoch(epoch, validation)`` is called after each validation (the validation curve as it is drawn, e.g. for a
tuner's pruner); an exception it raises stops the run and propagates.

Without ``validate`` (pre-training an edge predictor, a fixed number of warm-up epochs) every epoch runs and the
model keeps its last state; the non-finite guard, history and timing still apply.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["fit", "FitResult", "Validation", "NonFiniteError"]


class NonFiniteError(ValueError):
    """Training produced a NaN or infinite loss or parameter."""


@dataclass(frozen=True)
class Validation:
    """A validation score (higher is better) and, optionally, a validation loss (the tie-breaker)."""

    score: float
    loss: float | None = None


@dataclass
class FitResult:
    """What :func:`fit` observed: the best epoch and its validation, the history and the time taken."""

    best_epoch: int
    best: Validation
    epochs_run: int
    seconds: float
    epoch_seconds: float
    history: list[dict[str, float]] = field(default_factory=list, repr=False)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)


def _better(new: Validation, old: Validation | None) -> bool:
    if old is None:
        return True
    if new.score != old.score:
        return new.score > old.score
    if new.loss is None or old.loss is None:
        return False
    return new.loss < old.loss


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _first_non_finite(model: nn.Module) -> str | None:
    """The name of the first parameter holding NaN/inf, or None; one device sync for all of them."""
    named = list(model.named_parameters())
    if not named:
        return None
    # a sum is finite only if every term is (NaN and inf propagate; inf - inf is NaN): one fast reduction per
    # parameter settles the usual case; a sum that overflows falls through to the exact per-element check
    with torch.no_grad():
        if bool(torch.isfinite(torch.stack([p.detach().sum() for _, p in named])).all()):
            return None
    finite = torch.stack([torch.isfinite(p).all() for _, p in named])
    if bool(finite.all()):
        return None
    return named[int((~finite).nonzero()[0])][0]


def fit(
    model: nn.Module,
    train_epoch: Callable[[int], float | torch.Tensor],
    validate: Callable[[], Validation] | None,
    *,
    epochs: int,
    patience: int | None = None,
    eval_every: int = 1,
    what: str = "training",
    progress: bool | str = False,
    on_epoch: Callable[[int, Validation], None] | None = None,
) -> FitResult:
    """Run ``epochs`` epochs of ``train_epoch``, validating every ``eval_every`` epochs (and after the last).

    Returns the :class:`FitResult` with the model left at its best validated state. ``what`` names the run in
    error messages (e.g. ``"GCN on cora, seed 3"``); ``progress`` (True, or the bar's label) counts the epochs on
    a transient tqdm bar; ``on_epoch(epoch, validation)`` sees each validation as it is made.
    """
    if progress:
        from tqdm.auto import tqdm

        label = progress if isinstance(progress, str) else what
        with tqdm(total=epochs, desc=label, unit="epoch", leave=False) as bar:

            def counted(epoch: int) -> float | torch.Tensor:
                loss = train_epoch(epoch)
                bar.update()
                return loss

            return fit(
                model,
                counted,
                validate,
                epochs=epochs,
                patience=patience,
                eval_every=eval_every,
                what=what,
                on_epoch=on_epoch,
            )
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if eval_every < 1:
        raise ValueError(f"eval_every must be >= 1, got {eval_every}")
    best: Validation | None = None
    best_epoch, best_state, epoch = 0, (_snapshot(model) if validate is not None else {}), 0
    history: list[dict[str, float]] = []
    train_seconds, start = 0.0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        tick = time.perf_counter()
        loss = float(train_epoch(epoch))
        train_seconds += time.perf_counter() - tick
        if not math.isfinite(loss):
            raise NonFiniteError(
                f"{what}: the training loss became {loss} at epoch {epoch}; lower the learning rate or check the "
                "inputs (nothing was stored for this run)"
            )
        if epoch % eval_every and epoch != epochs:
            continue
        bad = _first_non_finite(model)
        if bad is not None:
            raise NonFiniteError(f"{what}: parameter {bad!r} became non-finite at epoch {epoch} (nothing was stored)")
        if validate is None:
            history.append({"epoch": epoch, "loss": loss})
            best_epoch = epoch
            continue
        current = validate()
        if math.isnan(current.score):
            raise NonFiniteError(f"{what}: the validation score is NaN at epoch {epoch}")
        history.append(
            {
                "epoch": epoch,
                "loss": loss,
                "val_score": current.score,
                **({"val_loss": current.loss} if current.loss is not None else {}),
            }
        )
        if on_epoch is not None:
            on_epoch(epoch, current)
        if _better(current, best):
            best, best_epoch, best_state = current, epoch, _snapshot(model)
        elif patience is not None and epoch - best_epoch >= patience:
            break
    seconds = time.perf_counter() - start
    if validate is not None:
        model.load_state_dict(best_state)
    return FitResult(
        best_epoch=best_epoch,
        best=best if best is not None else Validation(math.nan),
        epochs_run=epoch,
        seconds=seconds,
        epoch_seconds=train_seconds / max(epoch, 1),
        history=history,
        best_state=best_state,
    )
