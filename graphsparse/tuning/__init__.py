"""Honest hyperparameter tuning on Optuna: the objective never sees a test label.

* :mod:`.space` — search spaces as data, one per method (GCN, GAug-M, GAug-O, TWIRLS, UGS), printable as JSON
  and overridable from a file;
* :mod:`.honest` — the tuning graph: the dataset with its test labels replaced by ``-1`` and its test split
  emptied, the only graph a trial trains on;
* :mod:`.objective` — one configuration over seeds (the same code for trials and for the final runs) and the
  study objective: mean validation score over k seeds, the validation curve reported to the pruner;
* :mod:`.study` — Optuna storage, resume, several workers on one study (TPE sampler, median pruner);
* :mod:`.setup` / :mod:`.runner` — base configurations from the presets, and the whole job: search, then train
  the chosen configuration on fresh seeds beside the plain backbone and test once.

Needs the ``tune`` extra (``pip install graphsparse[tune]``: Optuna).
"""

from __future__ import annotations

from .honest import UNLABELLED, tuning_graph, tuning_split_name
from .objective import TRIAL_SEED_BASE, TuneSetup, check_space, make_objective, run_config
from .runner import default_study_name, study_description, tune
from .setup import baseline_setup, build_setup, method_for
from .space import METHODS, SPACES, Param, SearchSpace, load_space_overrides, space_for
from .study import default_storage, finished_trials, open_study, optimize, storage_url, trial_counts

__all__ = [
    "UNLABELLED",
    "tuning_graph",
    "tuning_split_name",
    "TRIAL_SEED_BASE",
    "TuneSetup",
    "make_objective",
    "check_space",
    "run_config",
    "default_study_name",
    "study_description",
    "tune",
    "baseline_setup",
    "build_setup",
    "method_for",
    "METHODS",
    "SPACES",
    "Param",
    "SearchSpace",
    "load_space_overrides",
    "space_for",
    "default_storage",
    "finished_trials",
    "open_study",
    "optimize",
    "storage_url",
    "trial_counts",
]
