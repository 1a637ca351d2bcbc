"""sha256 and size of every shipped dataset file, read from ``checksums.json`` (package data) beside this module.

``checksums.json`` maps each path relative to the dataset root (``datasets/``) to ``{"bytes": n, "sha256": hex}``;
its entries are the rows of the datasets' SOURCE.md tables (``tests/test_data.py`` checks that they agree). The
Planetoid ``ind.*`` pickles are always checked against this table before they are unpickled.
"""

from __future__ import annotations

import json
from importlib import resources

__all__ = ["KNOWN_FILES", "load_checksums"]


def load_checksums() -> dict[str, tuple[int, str]]:
    """Read the shipped checksum table.

    Returns:
        A dict mapping each file's path (relative to the dataset root) to its ``(bytes, sha256)``.

    Raises:
        ValueError: when an entry of ``checksums.json`` is not ``{"bytes": int >= 0, "sha256": 64 hex digits}``.
    """
    raw = json.loads(resources.files(__package__).joinpath("checksums.json").read_text(encoding="utf-8"))
    table: dict[str, tuple[int, str]] = {}
    for rel, entry in raw.items():
        size, sha = entry.get("bytes"), entry.get("sha256")
        if not isinstance(size, int) or size < 0 or not isinstance(sha, str) or len(sha) != 64:
            raise ValueError(f"checksums.json: bad entry for {rel!r}: {entry!r}")
        int(sha, 16)  # a ValueError when it is not hexadecimal
        table[rel] = (size, sha)
    return table


# path -> (bytes, sha256); one dict for the process (the verifier, the loaders and the downloader read it)
KNOWN_FILES: dict[str, tuple[int, str]] = load_checksums()
