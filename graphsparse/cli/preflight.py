"""Preflight: everything a command will write is opened or checked *before* its first epoch.

A results database that turns out read-only after every seed trained, or a ``--plot`` path that cannot be
written after a whole search, loses finished work (or at least the user's time). Each subcommand calls
:func:`preflight` right after its options are checked; a refusal is a :class:`PreflightError` (a ValueError, so
``main`` prints one line naming the path and the problem and exits 2).

An output that is the same file as one of the command's inputs (or as another of its outputs) is refused before
anything is opened (:func:`check_distinct`: the same resolved path, or the same file through a hard link or a
symbolic link, by device and inode), so no command overwrites what it reads.

Checks that hold for every user, root included (root ignores permission bits): a folder where a file is expected,
a file where a folder is expected (``a/b.db`` where ``a`` is a file), a path that cannot be created, a database
that cannot be written (a write is tried and rolled back), an image suffix matplotlib cannot write.

The :class:`Outputs` of the running command (:func:`current`) remember the open results store, so an interrupted
command can say what it had stored (:meth:`Outputs.interrupted`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "PreflightError",
    "Outputs",
    "preflight",
    "current",
    "reset",
    "check_database",
    "check_datasets",
    "check_distinct",
    "same_file",
    "check_output_file",
    "check_output_folder",
    "check_plot_path",
    "plot_formats",
]


class PreflightError(ValueError):
    """An output of the command cannot be written; the message names the path and the problem."""


class Outputs:
    """What the running command writes.

    Its open results store (None for read-only commands) and what to call the units it stores (``"runs"``,
    ``"levels"``) when reporting an interruption.
    """

    def __init__(self, command: str, store: Any = None, unit: str = "runs", resume: str = "") -> None:
        """Hold the command's outputs; no unit is counted as resumed yet.

        Args:
            command: the command's name.
            store: its open results store (None for read-only commands).
            unit: what the stored units are called (``"runs"``, ``"levels"``).
            resume: how to go on after an interruption (appended to the interruption line; empty: nothing).
        """
        self.command, self.store, self.unit, self.resume = command, store, unit, resume
        self.loaded = 0  # units found already stored (resumed), counted by the command

    def stored(self) -> int:
        """How many units are stored: those this command wrote plus those it found already stored."""
        if self.store is None:
            return 0
        return (self.store.written_units if self.unit == "levels" else self.store.written_runs) + self.loaded

    def interrupted(self, how: str) -> str:
        """One line: what is stored and how to go on (``how``: 'interrupted' or 'terminated')."""
        if self.store is None:
            return f"{how}: nothing was being stored"
        n = self.stored()
        noun = self.unit if n != 1 else self.unit.rstrip("s")
        verb = "are" if n != 1 else "is"
        line = f"{how}: {n} {noun} {verb} stored in {self.store.path}"
        if getattr(self.store, "failed", False):
            from .recovery import report

            return f"{line}; " + "; ".join(text.split(": ", 1)[1] for text in report(self.store, "")[1:])
        return f"{line}; {self.resume}" if self.resume else line


_CURRENT: Outputs | None = None


def current() -> Outputs | None:
    """The outputs of the command now running in this process (None before its preflight)."""
    return _CURRENT


def reset() -> None:
    """Forget the outputs of the previous command (:func:`current` gives None until the next preflight)."""
    global _CURRENT
    _CURRENT = None


def _fail(what: str, path: Path, problem: str) -> PreflightError:
    return PreflightError(f"{what} {path}: {problem}")


def _check_parent(what: str, path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder; create the missing folders below it."""
    parent = path.parent
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise _fail(what, path, f"{ancestor} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _fail(what, path, f"cannot create its folder {parent}: {err.strerror or err}") from None


def _probe_folder(what: str, path: Path, folder: Path) -> None:
    """Create and remove a scratch file in ``folder`` (what writing there needs, whoever runs the command)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".graphsparse-write-check-"):
            pass
    except OSError as err:
        raise _fail(what, path, f"its folder {folder} is not writable ({err.strerror or err})") from None


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether paths ``a`` and ``b`` name the same file.

    They are compared by device and inode when both exist (hard links and symbolic links included), else by their
    resolved absolute paths.

    Args:
        a: one path.
        b: the other.

    Returns:
        True when writing one would change the other.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, RuntimeError):  # a symbolic link loop: compare the paths as given
        return os.path.abspath(a) == os.path.abspath(b)


Named = Iterable[tuple[str, "str | os.PathLike[str] | None"]]


def check_distinct(outputs: Named, inputs: Named = ()) -> None:
    """Refuse an output that is the same file as an input or as another output (see :func:`same_file`).

    Args:
        outputs: (what, path) of every file the command writes (None paths are skipped).
        inputs: (what, path) of every file it reads.

    Raises:
        PreflightError: naming both paths and what to do.
    """
    written = [(what, Path(path)) for what, path in outputs if path is not None and str(path) != ""]
    read = [(what, Path(path)) for what, path in inputs if path is not None and str(path) != ""]
    for i, (what, path) in enumerate(written):
        for other, source in read:
            if same_file(path, source):
                raise _fail(
                    what,
                    path,
                    f"is the same file as {other} {source}, which this command reads: writing it would destroy "
                    f"it; give {what} another path",
                )
        for other, target in written[i + 1 :]:
            if same_file(path, target):
                raise _fail(
                    what,
                    path,
                    f"is the same file as {other} {target}: one would overwrite the other; give them different paths",
                )


def check_output_file(path: str | os.PathLike[str], what: str = "output file") -> Path:
    """Check that ``path`` can be written as a file; returns it as a Path.

    It is not a folder, its folder exists (created if missing) and is writable, and an existing file opens for
    writing (it is not changed).
    """
    path = Path(path)
    if path.is_dir():
        raise _fail(what, path, "is a folder, not a file")
    _check_parent(what, path)
    if path.exists():
        try:
            with open(path, "ab"):
                pass
        except OSError as err:
            raise _fail(what, path, f"cannot be written ({err.strerror or err})") from None
    else:
        _probe_folder(what, path, path.parent)
    return path


def check_output_folder(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """``path`` is (or can be created as) a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise _fail(what, path, "is a file, not a folder")
    _check_parent(what, path)
    try:
        path.mkdir(exist_ok=True)
    except OSError as err:
        raise _fail(what, path, f"cannot be created ({err.strerror or err})") from None
    _probe_folder(what, path, path)
    return path


def plot_formats() -> list[str]:
    """The image suffixes matplotlib can write (it picks the format from the suffix)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def check_plot_path(path: str | os.PathLike[str], option: str = "--plot") -> Path:
    """A plot path matplotlib can write: a known image suffix, and a writable file (see check_output_file)."""
    path = Path(path)
    formats = plot_formats()
    suffix = path.suffix.lower().lstrip(".")
    shown = ", ".join("." + f for f in ("png", "pdf", "svg") if f in formats)
    if not suffix:
        raise _fail(option, path, f"has no image suffix: matplotlib picks the format from it (e.g. {shown})")
    if suffix not in formats:
        raise _fail(
            option, path, f"matplotlib cannot write .{suffix} images (use one of {', '.join('.' + f for f in formats)})"
        )
    return check_output_file(path, option)


def check_datasets(names: Iterable[str]) -> None:
    """Check that each dataset name is registered and its files are found on the dataset search path.

    Synthetic ones need none; else the registry's DatasetError (naming where it looked and the fetch command).
    Nothing is loaded.
    """
    from ..data import load_dataset, locate_dataset

    for name in names:
        if locate_dataset(name) is None:
            load_dataset(name)  # not found: raises the registry's message (a ValueError), reading no file


def check_database(path: str | os.PathLike[str] | None) -> Any:
    """Open the results database at ``path`` (default: $GRAPHSPARSE_DB or runs/graphsparse.db), checked writable.

    Returns the :class:`~graphsparse.experiments.ResultsStore`.
    """
    from ..experiments.store import ResultsStore, default_db_path

    what = "results database"
    path = Path(path) if path is not None else default_db_path()
    if path.is_dir():
        raise _fail(what, path, "is a folder, not a file (give --db a file path)")
    _check_parent(what, path)
    try:
        store = ResultsStore(path)
    except OSError as err:
        raise _fail(what, path, f"cannot be opened ({err.strerror or err})") from None
    except ValueError as err:
        raise PreflightError(str(err)) from None
    try:
        store.check_writable()
    except ValueError as err:
        raise PreflightError(str(err)) from None
    return store


def preflight(
    args: argparse.Namespace,
    *,
    database: bool = True,
    plot: str | os.PathLike[str] | None = None,
    files: Iterable[tuple[str, str | os.PathLike[str]]] = (),
    folders: Iterable[tuple[str, str | os.PathLike[str]]] = (),
    inputs: Iterable[tuple[str, str | os.PathLike[str] | None]] = (),
    datasets: Iterable[str] = (),
    unit: str = "runs",
    resume: str = "",
) -> Outputs:
    """Check every output of the command before any work.

    The outputs are the results database from ``args.db``, ``plot``, other ``files`` and ``folders`` as (what,
    path); they are checked after setting torch's thread count (``--threads`` or the policy of
    :mod:`graphsparse.threads`). Returns the command's :class:`Outputs` (its ``store`` open) and
    makes them :func:`current`. Raises PreflightError (exit 2) naming the first path that cannot be written, or
    an output that is the same file as one of the ``inputs`` (what, path) or as another output. The ``datasets``
    the command reads must be found (:func:`check_datasets`) before anything is created: a missing dataset
    leaves no empty results database behind.
    """
    global _CURRENT
    files = list(files)
    written: list[tuple[str, Any]] = [("--plot", plot)] if plot is not None else []
    written += files
    if database:
        from ..experiments.store import default_db_path

        db = getattr(args, "db", None)
        written.append(("--db" if db is not None else "results database", db if db is not None else default_db_path()))
    check_distinct(written, inputs)  # before anything is created or opened
    check_datasets(datasets)
    if hasattr(args, "threads"):  # commands with the common options: torch's threads are set before any work,
        from .options import apply_thread_option  # so the invocation record made next names them

        apply_thread_option(args)
    if plot is not None:
        check_plot_path(plot)
    for what, path in files:
        check_output_file(path, what)
    for what, path in folders:
        check_output_folder(path, what)
    command = getattr(args, "command", "") or ""
    store = check_database(getattr(args, "db", None)) if database else None
    if store is not None:  # a write that fails from now on keeps its record in a recovery file (cli.recovery)
        from .recovery import GuardedStore

        store = GuardedStore(store, command)
    _CURRENT = Outputs(command, store, unit, resume)
    return _CURRENT
