"""``verify_datasets``: check every shipped file of the registered datasets against its recorded sha256.

Used by ``graphsparse datasets --verify``. Checksums come from :data:`~graphsparse.data.checksums.KNOWN_FILES` (the
SOURCE.md tables); every file is hashed again (nothing is taken from a cache, see :mod:`graphsparse.data._io`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ._io import DatasetError, default_root, resolve_root, verify_file
from .checksums import KNOWN_FILES
from .registry import _SPECS, canonical_name, list_datasets, locate_dataset
from .seal import SEAL_DATASETS

__all__ = ["VerifyResult", "shipped_files", "verify_datasets"]


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on one dataset: ``ok`` when every file matched; otherwise ``problems`` name the files."""

    name: str
    files: tuple[str, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """One line for a listing: ``name: ok (n files)`` or ``name: FAILED: first problem (+k more)``."""
        if self.ok:
            return f"{self.name}: ok ({len(self.files)} file{'s' if len(self.files) != 1 else ''})"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.name}: FAILED: {self.problems[0]}{more}"


def shipped_files(name: str) -> list[str]:
    """Paths (relative to the dataset root) of the shipped files of dataset ``name`` that have a known sha256."""
    spec = _SPECS[canonical_name(name)]
    if not spec.shipped:
        return []
    if spec.family == "seal":  # all SEAL graphs share one folder: the .mat the loader reads, and the edge list
        stem = SEAL_DATASETS[spec.name]
        candidates = [f"seal_link_prediction/mat/{stem}.mat", f"seal_link_prediction/txt/{stem}.txt"]
        return [rel for rel in candidates if rel in KNOWN_FILES]
    prefix = spec.path.rstrip("/") + "/"
    return sorted(rel for rel in KNOWN_FILES if rel.startswith(prefix))


def verify_datasets(names: list[str] | None = None, root: str | os.PathLike[str] | None = None) -> list[VerifyResult]:
    """Check every shipped file of ``names`` (default: every shipped dataset) against its recorded sha256.

    Missing files and mismatches are reported, not raised: one :class:`VerifyResult` per dataset. Without
    ``root``, each dataset is checked where :func:`~graphsparse.data.registry.locate_dataset` finds it.
    """
    results = []
    for name in names or list_datasets(shipped_only=True):
        canonical = canonical_name(name)
        base = resolve_root(root) if root is not None else (locate_dataset(canonical) or default_root())
        files = shipped_files(canonical)
        problems = []
        if not files:
            problems.append("no shipped files with a recorded sha256 (not a shipped dataset)")
        for rel in files:
            try:
                verify_file(base, rel, fresh=True)
            except DatasetError as err:
                problems.append(str(err))
        results.append(VerifyResult(canonical, tuple(files), tuple(problems)))
    return results
