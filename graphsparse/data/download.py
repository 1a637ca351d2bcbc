"""Downloading one file over HTTP(S), bounded: a deadline, a size cap, and no partial file left behind.

:func:`download_file` is used by :func:`~graphsparse.data.fetch.fetch_dataset` (the shipped datasets' files) and by
:func:`~graphsparse.data.ogb_raw.download_ogb` (OGB zips, capped by :func:`free_space_cap`); both import it from here,
so the downloader and the OGB reader do not import each other.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import time
import urllib.request
from pathlib import Path

from ._io import DatasetError

__all__ = ["DEADLINE_SECONDS", "TIMEOUT_SECONDS", "UNKNOWN_MAX_BYTES", "download_file", "free_space_cap"]

TIMEOUT_SECONDS = 60  # the longest one read may wait for the next bytes
DEADLINE_SECONDS = 1800  # the longest one file's download may take, however the server paces its bytes
UNKNOWN_MAX_BYTES = 1 << 31  # the cap of a file the manifest records no size for (the unshipped Yandex sets)


def free_space_cap(folder: Path, margin: int = 1 << 30) -> int:
    """The cap of a download whose size nobody records (an OGB zip).

    It is what the disk holding ``folder`` has free, less ``margin``, so an endless body never fills it.
    """
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    return max(0, shutil.disk_usage(folder).free - margin)


def download_file(url: str, target: Path, size: int | None = None, cap: int | None = None) -> None:
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
