"""Where settings come from: the one module of graphsparse that reads environment variables.

Every setting has a default that needs no environment; the variables below override it.

================================  ==========================================================================
``GRAPHSPARSE_DATA``              extra dataset roots (``os.pathsep``-separated), searched first, in order
``GRAPHSPARSE_HOME``              the data home (default: ``platformdirs.user_data_dir("graphsparse")``);
                                  fetched datasets go to ``<home>/datasets``
``GRAPHSPARSE_NO_CHECKOUT_DATA``  ``1``: do not search the checkout's shipped ``datasets/`` folder (tests)
``GRAPHSPARSE_MIRROR``            a base URL that replaces scheme and host of every dataset download URL
``GRAPHSPARSE_CACHE``             cache folder (checksum verdicts, METIS partitions); default ``runs/...``
``GRAPHSPARSE_DB``                the results database; default ``runs/graphsparse.db``
``GRAPHSPARSE_SYSTEM_MALLOC``     read by :mod:`graphsparse.utils` itself (a sibling in the lowest layer)
``OMP_NUM_THREADS``               torch's own variable: an intra-op thread count the commands keep instead of
                                  choosing one (:mod:`graphsparse.threads`; ``--threads`` overrides both)
``OMP_WAIT_POLICY``               OpenMP's variable, read when torch is imported; the command and the benchmarks
``GOMP_SPINCOUNT``                set ``OMP_WAIT_POLICY=PASSIVE`` on a busy machine unless either is set
                                  (:func:`graphsparse.threads.choose_wait_policy`)
================================  ==========================================================================

The dataset search path (:func:`dataset_search_path`) is: the ``$GRAPHSPARSE_DATA`` entries, then the data home's
``datasets/`` folder, then the repository's shipped ``datasets/`` folder when graphsparse runs from a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_ENV",
    "HOME_ENV",
    "NO_CHECKOUT_ENV",
    "MIRROR_ENV",
    "CACHE_ENV",
    "DB_ENV",
    "data_home",
    "dataset_home",
    "checkout_datasets",
    "extra_data_roots",
    "dataset_search_path",
    "download_mirror",
    "cache_dir",
    "results_db",
    "torchrun_env",
    "omp_threads",
]

DATA_ENV = "GRAPHSPARSE_DATA"
HOME_ENV = "GRAPHSPARSE_HOME"
NO_CHECKOUT_ENV = "GRAPHSPARSE_NO_CHECKOUT_DATA"
MIRROR_ENV = "GRAPHSPARSE_MIRROR"
CACHE_ENV = "GRAPHSPARSE_CACHE"
DB_ENV = "GRAPHSPARSE_DB"
OMP_ENV = "OMP_NUM_THREADS"


def _env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else None


def data_home() -> Path:
    """``$GRAPHSPARSE_HOME``, else the per-user data folder (``platformdirs.user_data_dir("graphsparse")``)."""
    env = _env(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("graphsparse", appauthor=False))


def dataset_home() -> Path:
    """Where ``graphsparse datasets fetch`` puts datasets: ``<data home>/datasets``."""
    return data_home() / "datasets"


def checkout_datasets() -> Path | None:
    """The shipped ``datasets/`` folder beside the package when running from a source checkout, else None.

    None also when ``$GRAPHSPARSE_NO_CHECKOUT_DATA`` is set (to ``1``, ``true`` or ``yes``).
    """
    if (_env(NO_CHECKOUT_ENV) or "").lower() in ("1", "true", "yes"):
        return None
    repo = Path(__file__).resolve().parents[1]
    folder = repo / "datasets"
    if (repo / "pyproject.toml").is_file() and folder.is_dir():
        return folder
    return None


def extra_data_roots() -> list[Path]:
    """The ``$GRAPHSPARSE_DATA`` entries (``os.pathsep``-separated; empty entries skipped), in order."""
    env = _env(DATA_ENV) or ""
    return [Path(entry).expanduser() for entry in env.split(os.pathsep) if entry]


def dataset_search_path() -> list[Path]:
    """Dataset roots in search order: ``$GRAPHSPARSE_DATA`` entries, the data home, the checkout's ``datasets/``."""
    roots = [*extra_data_roots(), dataset_home()]
    checkout = checkout_datasets()
    if checkout is not None:
        roots.append(checkout)
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def download_mirror() -> str | None:
    """``$GRAPHSPARSE_MIRROR``: a base URL replacing scheme and host of dataset download URLs, or None."""
    return _env(MIRROR_ENV)


def cache_dir(default: str | os.PathLike[str]) -> Path:
    """``$GRAPHSPARSE_CACHE`` when set, else ``default`` (each cache user names its own default folder)."""
    return Path(_env(CACHE_ENV) or default).expanduser()


def results_db() -> Path:
    """The results database: ``$GRAPHSPARSE_DB`` if set, else ``runs/graphsparse.db``."""
    return Path(os.environ.get(DB_ENV, "runs/graphsparse.db"))


def omp_threads() -> str | None:
    """Return ``$OMP_NUM_THREADS`` as given (None when unset or empty).

    :func:`graphsparse.threads.resolve_threads` checks it.
    """
    return _env(OMP_ENV)


def torchrun_env() -> tuple[int, int, int]:
    """``(RANK, WORLD_SIZE, LOCAL_RANK)`` as set by torchrun (defaults: one process, rank 0)."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )
