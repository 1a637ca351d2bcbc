"""The one training engine, shared by every task.

:func:`fit` (best state by validation, early stopping, non-finite guard, history, timing), :func:`make_optimizer`
(Adam over parameter groups), :class:`RunResult` (what one run produced, metric keys named by the metric) and
:func:`run_seeds` (seed -> build -> fit -> record, over seeds).

Node classification, link prediction, Cluster-GCN, GAug-O and the GAug edge predictor each supply only their
training step and their validation; the loop is the same for all of them.
"""

from .loop import FitResult, NonFiniteError, Validation, fit
from .optim import first_layer, make_optimizer, param_groups
from .result import RunResult
from .seeds import run_seeds

__all__ = [
    "fit",
    "FitResult",
    "Validation",
    "NonFiniteError",
    "first_layer",
    "make_optimizer",
    "param_groups",
    "RunResult",
    "run_seeds",
]
