"""``fetch_dataset``: download a dataset's original files into the data home and check their sha256.

A shipped dataset's files come from the public URLs its SOURCE.md names (:data:`~graphsparse.data.sources.
FILE_SOURCES`: raw.githubusercontent.com, pinned to the recorded commit) and must match the sizes and sha256 recorded
there (:data:`~graphsparse.data.checksums.KNOWN_FILES`); a file that does not is deleted and a
:class:`~graphsparse.data.DatasetError` names it. Files already present with the right checksum are not downloaded
again. Every download goes through :func:`~graphsparse.data.download.download_file`: an overall deadline, a size
cap (the size the manifest records, or a fixed cap for a file without one: an endless body never fills the disk),
written to ``<file>.part`` and renamed only when complete, the partial file removed whatever ends the download (an
error, the deadline, the cap, Ctrl-C). ``base_url`` (or ``$GRAPHSPARSE_MIRROR``) replaces the scheme and host of
every URL, e.g. ``http://127.0.0.1:8000`` turns ``https://raw.githubusercontent.com/kimiyoung/planetoid/<commit>/data/ind.cora.x``
into ``http://127.0.0.1:8000/kimiyoung/planetoid/<commit>/data/ind.cora.x`` (a mirror, or a local server in tests).

OGB datasets download their official zip (through ogb's own helper) and the unshipped Yandex sets their npz from
the Yandex repository; neither has a recorded checksum. The Amazon/Coauthor npz files are conversions that no public
URL serves, so they cannot be fetched (the error says so).
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..config import dataset_home, download_mirror
from ._io import DatasetError, sha256_file
from .checksums import KNOWN_FILES
from .download import download_file
from .ogb_raw import download_ogb
from .registry import _SPECS, canonical_name, shipped_files
from .sources import FILE_SOURCES
from .yandex import YANDEX_DOWNLOAD_ONLY, YANDEX_URL

__all__ = ["dataset_sources", "fetch_dataset", "rebase_url"]


def dataset_sources(name: str) -> list[tuple[str, str, str]]:
    """``(url, path relative to the dataset root, sha256)`` of every file of shipped dataset ``name``.

    DatasetError when the dataset has files without a public source (the converted Amazon/Coauthor npz files).
    """
    canonical = canonical_name(name)
    files = shipped_files(canonical)
    unsourced = [rel for rel in files if rel not in FILE_SOURCES]
    if not files or unsourced:
        what = ", ".join(unsourced) if unsourced else "no shipped files"
        raise DatasetError(
            f"dataset {canonical!r} cannot be fetched: {what} (no public URL serves these exact bytes; they are "
            "conversions shipped with the source repository, see its SOURCE.md)"
        )
    return [(FILE_SOURCES[rel], rel, KNOWN_FILES[rel][1]) for rel in files]


def rebase_url(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url`` (whose own path, if any, is prefixed)."""
    if not base_url:
        return url
    base = urllib.parse.urlsplit(base_url)
    if not base.scheme or not base.netloc:
        raise DatasetError(f"base URL {base_url!r} must have a scheme and a host, e.g. http://127.0.0.1:8000")
    path = urllib.parse.urlsplit(url).path
    return urllib.parse.urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + path, "", ""))


def fetch_dataset(
    name: str,
    to: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download dataset ``name`` into ``to`` (default: the data home's ``datasets/``); return the files' paths.

    Every file of a shipped dataset is checked against its recorded sha256: a mismatch deletes the file and raises
    DatasetError. ``base_url`` (default ``$GRAPHSPARSE_MIRROR``) replaces the scheme and host of the URLs.
    ``progress`` receives one line per file.
    """
    canonical = canonical_name(name)
    spec = _SPECS[canonical]
    root = Path(to).expanduser() if to is not None else dataset_home()
    base_url = base_url if base_url is not None else download_mirror()
    say = progress or (lambda line: None)
    if spec.family == "ogb":
        say(f"{canonical}: downloading the official OGB zip (no recorded checksum)")
        return [download_ogb(canonical, root, rebase=lambda url: rebase_url(url, base_url))]
    if canonical in YANDEX_DOWNLOAD_ONLY:
        stem = YANDEX_DOWNLOAD_ONLY[canonical]
        target = root / "yandex_heterophilous" / stem / "raw" / f"{stem}.npz"
        source = rebase_url(f"{YANDEX_URL}/{stem}.npz", base_url)
        say(f"{canonical}: downloading {source} (no recorded checksum)")
        download_file(source, target)
        return [target]
    if spec.family == "synthetic":
        raise DatasetError(f"dataset {canonical!r} is generated, not downloaded")
    paths = []
    for url, rel, sha in dataset_sources(canonical):
        target = root / rel
        if target.is_file() and sha256_file(target) == sha:
            say(f"{rel}: present, sha256 ok")
            paths.append(target)
            continue
        source = rebase_url(url, base_url)
        download_file(source, target, KNOWN_FILES[rel][0])
        actual = sha256_file(target)
        if actual != sha:
            target.unlink()
            raise DatasetError(
                f"checksum mismatch for {rel} downloaded from {source}: sha256 {actual}, expected {sha}; "
                "the file was deleted"
            )
        say(f"{rel}: downloaded, sha256 ok")
        paths.append(target)
    return paths
