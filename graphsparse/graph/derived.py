"""A graph's derived values (normalised operators, CSR features, propagations) that never go stale.

torch bumps a tensor's ``_version`` counter on every in-place write. :class:`DerivedCache` remembers, with each
value, the counters of the graph's own tensors (its *primary* tensors) and of the tensors inside the value; a read
whose counters moved recomputes. A Graph hands out its own storage (no copies per epoch), so this is what keeps a
cached operator right when someone writes ``graph.x`` in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["DerivedCache", "versions"]


def _version_of(tensor: torch.Tensor) -> int:
    try:
        return tensor._version
    except RuntimeError:  # an inference tensor: it tracks no version (and cannot be written outside inference mode)
        return -1


_DATACLASS_FIELDS: dict[type, tuple[str, ...]] = {}


def versions(value: Any) -> tuple[int, ...]:
    """The ``_version`` counters of every tensor in ``value`` (a tensor, tuple/list/dict or dataclass of them)."""
    if isinstance(value, torch.Tensor):
        return (_version_of(value),)
    if isinstance(value, (tuple, list)):
        return tuple(v for item in value for v in versions(item))
    if isinstance(value, dict):
        return tuple(v for item in value.values() for v in versions(item))
    kind = type(value)
    names = _DATACLASS_FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(value)) if dataclasses.is_dataclass(value) else ()
        _DATACLASS_FIELDS[kind] = names
    return tuple(v for name in names for v in versions(getattr(value, name)))


class DerivedCache:
    """Values derived from ``primary`` tensors, each dropped once they or the value's own tensors are written.

    Args:
        primary: the tensors every entry may depend on (a graph's edges, features, labels, masks...).
    """

    def __init__(self, primary: tuple[torch.Tensor, ...]) -> None:
        """Start empty, at the primary tensors' current versions."""
        self._primary = primary
        self._entries: dict[Any, tuple[Any, tuple[int, ...]]] = {}
        self._at = self._primary_versions()

    def _primary_versions(self) -> tuple[int, ...]:
        # a graph's own tensors are never inference tensors (built outside inference mode), so all track versions
        return tuple([t._version for t in self._primary])

    def _drop_if_written(self) -> None:
        """Any primary tensor written since the last look: every entry may depend on it, so all go."""
        now = self._primary_versions()
        if now != self._at:
            self._entries.clear()
            self._at = now

    def watch(self, tensor: torch.Tensor) -> None:
        """Add a primary tensor made after construction (a batch's deferred features)."""
        self._primary = (*self._primary, tensor)
        self._at = self._primary_versions()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The value under ``key``; ``compute()`` (and stored) when missing or stale."""
        self._drop_if_written()
        entry = self._entries.get(key)
        if entry is not None and versions(entry[0]) == entry[1]:
            # computed under inference mode (inference tensors track no version: -1), it would break autograd
            # outside it, so it is recomputed there
            if -1 not in entry[1] or torch.is_inference_mode_enabled():
                return entry[0]
        value = compute()
        self._entries[key] = (value, versions(value))
        return value

    def put(self, key: Any, value: Any) -> None:
        """Store a value computed elsewhere (e.g. a batch's rows of its parent's CSR features)."""
        self._drop_if_written()
        self._entries[key] = (value, versions(value))

    def keys(self) -> list[Any]:
        """Keys of the fresh entries."""
        if self._primary_versions() != self._at:
            return []
        return [k for k, (value, counters) in self._entries.items() if versions(value) == counters]

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
