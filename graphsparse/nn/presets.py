"""Moved to :mod:`graphsparse.presets` (kept as a re-export)."""

from ..presets import PRESETS, resolve_preset

__all__ = ["PRESETS", "resolve_preset"]
