"""``fetch_dataset``: download a dataset's original files into the data home and check their sha256.

A shipped dataset's files come from the public URLs its SOURCE.md names (:data:`~graphsparse.data.sources.
FILE_SOURCES`: raw.githubusercontent.com, pinned to the recorded commit) and must match the sizes and sha256 recorded
there (:data:`~graphsparse.data.checksums.KNOWN_FILES`); a file that does not is deleted and a
:class:`~graphsparse.data.DatasetError` names it. Files already present with the right checksum are not downloaded
again. Every download has an overall deadline (:data:`DEADLINE_SECONDS`, besides the :data:`TIMEOUT_SECONDS` each
read may wait: a server that sends a byte every few seconds is cut off) and a size cap (the size the manifest
records, or :data:`UNKNOWN_MAX_BYTES` for a file without one: an endless body never fills the disk); it is written to
``<file>.part`` and renamed only when complete, and the partial file is removed whatever ends the download (an
error, the deadline, the cap, Ctrl-C). ``base_url`` (or ``$GRAPHSPARSE_MIRROR``) replaces the scheme and host of
every URL, e.g. ``http://127.0.0.1:8000`` turns ``https://raw.githubusercontent.com/kimiyoung/planetoid/<commit>/data/ind.cora.x``
into ``http://127.0.0.1:8000/kimiyoung/planetoid/<commit>/data/ind.cora.x`` (a mirror, or a local server in tests).

OGB datasets download their official zip (through ogb's own helper) and the unshipped Yandex sets their npz from
the Yandex repository; neither has a recorded checksum. The Amazon/Coauthor npz files are conversions that no public
URL serves, so they cannot be fetched (the error says so).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..config import dataset_home, download_mirror
from ._io import DatasetError, sha256_file
from .checksums import KNOWN_FILES
from .ogb_raw import download_ogb
from .registry import _SPECS, canonical_name, shipped_files
from .sources import FILE_SOURCES
from .yandex import YANDEX_DOWNLOAD_ONLY, YANDEX_URL

__all__ = ["dataset_sources", "fetch_dataset", "rebase_url"]

TIMEOUT_SECONDS = 60  # the longest one read may wait for the next bytes
DEADLINE_SECONDS = 1800  # the longest one file's download may take, however the server paces its bytes
UNKNOWN_MAX_BYTES = 1 << 31  # the cap of a file the manifest records no size for (the unshipped Yandex sets)


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


def free_space_cap(folder: Path, margin: int = 1 << 30) -> int:
    """The cap of a download whose size nobody records (an OGB zip).

    It is what the disk holding ``folder`` has free, less ``margin``, so an endless body never fills it.
    """
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    return max(0, shutil.disk_usage(folder).free - margin)


def _download(url: str, target: Path, size: int | None = None, cap: int | None = None) -> None:
    """Download ``url`` to ``target`` through ``<target>.part``.

    Args:
        url: where from.
        target: the file to write (renamed into place only when complete).
        size: the size the manifest records: the download is refused when the server announces or sends more
            (default: at most ``cap``).
        cap: the most bytes accepted when no size is recorded (default :data:`UNKNOWN_MAX_BYTES`).

    Raises:
        DatasetError: the download failed, took longer than :data:`DEADLINE_SECONDS`, or sent more than the cap;
            the partial file is removed.
    """
    partial = target.with_name(target.name + ".part")
    cap = size if size is not None else (cap if cap is not None else UNKNOWN_MAX_BYTES)
    capped = f"the {cap} bytes the manifest records" if size is not None else f"the {cap}-byte cap"
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=min(TIMEOUT_SECONDS, DEADLINE_SECONDS)) as response:  # noqa: S310
            announced = response.headers.get("Content-Length")
            if announced is not None and announced.strip().isdigit() and int(announced) > cap:
                raise DatasetError(
                    f"cannot download {url}: the server announces {int(announced)} bytes, more than {capped}"
                )
            written = 0
            with open(partial, "wb") as out:
                while True:
                    if time.monotonic() - start > DEADLINE_SECONDS:
                        raise DatasetError(
                            f"cannot download {url}: not finished after {DEADLINE_SECONDS:g} s ({written} bytes "
                            "received); try again later or give a mirror (--base-url)"
                        )
                    block = response.read1(1 << 16)  # what has arrived (at least one byte), not a full block
                    if not block:
                        break
                    written += len(block)
                    if written > cap:
                        raise DatasetError(f"cannot download {url}: the server sends more than {capped}")
                    out.write(block)
            if announced is not None and announced.strip().isdigit() and written != int(announced):
                raise DatasetError(
                    f"cannot download {url}: the connection ended after {written} of the {int(announced)} bytes "
                    "announced; try again"
                )
        os.replace(partial, target)
    except DatasetError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    except (OSError, ValueError, http.client.HTTPException) as err:  # URLError, HTTPError, timeouts: OSErrors
        with contextlib.suppress(OSError):
            partial.unlink()
        raise DatasetError(f"cannot download {url}: {err}") from err
    except BaseException:  # Ctrl-C, SIGTERM: no partial file is left behind
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


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
        _download(source, target)
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
        _download(source, target, KNOWN_FILES[rel][0])
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
