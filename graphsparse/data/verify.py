"""``verify_datasets``: check every shipped file of the registered datasets against its recorded sha256.

Used by ``graphsparse datasets --verify``. Checksums come from :data:`~graphsparse.data.checksums.KNOWN_FILES` (the
package's ``checksums.json``, the SOURCE.md tables); every file is hashed again (nothing is taken from a cache,
see :mod:`graphsparse.data._io`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ._io import DatasetError, default_root, resolve_root, verify_file
from .registry import canonical_name, list_datasets, locate_dataset, shipped_files

__all__ = ["VerifyResult", "verify_datasets"]


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on one dataset: ``ok`` when every file matched; otherwise ``problems`` name the files."""

    name: str
    files: tuple[str, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether every file matched its recorded sha256."""
        return not self.problems

    def line(self) -> str:
        """One line for a listing: ``name: ok (n files)`` or ``name: FAILED: first problem (+k more)``."""
        if self.ok:
            return f"{self.name}: ok ({len(self.files)} file{'s' if len(self.files) != 1 else ''})"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{self.name}: FAILED: {self.problems[0]}{more}"


def verify_datasets(names: list[str] | None = None, root: str | os.PathLike[str] | None = None) -> list[VerifyResult]:
    """Check every shipped file of ``names`` (default: every shipped dataset) against its recorded sha256.

    Missing files and mismatches are reported, not raised. Without ``root``, each dataset is checked where
    :func:`~graphsparse.data.registry.locate_dataset` finds it.

    Args:
        names: dataset names or aliases (default: every shipped dataset).
        root: the dataset root to check (default: each dataset's own, or the default root).

    Returns:
        One :class:`VerifyResult` per dataset, in the order of ``names``.
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
