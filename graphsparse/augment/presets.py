"""Moved to :mod:`graphsparse.presets.gaug` (kept as a re-export)."""

from ..presets.gaug import GAUG_PRESETS, default_gaug_preset, resolve_gaug_preset

__all__ = ["GAUG_PRESETS", "resolve_gaug_preset", "default_gaug_preset"]
