"""The papers' hyperparameters, as data: model/training presets, GAug's, TWIRLS's, the GLT and link defaults.

Imports nothing from graphsparse (so every layer may read it). See :mod:`graphsparse.presets.node` for which
preset each command uses by default.
"""

from __future__ import annotations

from .gaug import GAUG_PRESETS, default_gaug_preset, resolve_gaug_preset
from .node import (
    ANY_DATASET,
    GLT_DISTILL,
    GLT_PRESETS,
    LINK_DEFAULTS,
    NO_PRESET,
    PRESETS,
    TEDDY_OGB_SOURCE,
    default_preset,
    resolve_preset,
)
from .twirls import TWIRLS_PRESETS

__all__ = [
    "ANY_DATASET",
    "GAUG_PRESETS",
    "GLT_DISTILL",
    "GLT_PRESETS",
    "LINK_DEFAULTS",
    "NO_PRESET",
    "PRESETS",
    "TEDDY_OGB_SOURCE",
    "TWIRLS_PRESETS",
    "default_gaug_preset",
    "default_preset",
    "resolve_gaug_preset",
    "resolve_preset",
]
