"""SQLite results store: every run's config, dataset, seed, metrics, timings and package versions.

Each write is its own short transaction in WAL mode with a busy timeout, so several processes can write to
one database at once. A key/value table holds finished units of resumable work (e.g. one GLT level).

Each run records the result schema version (:data:`graphsparse.graph.SCHEMA_VERSION`) and, when given, the
:meth:`Graph.fingerprint` of the data it ran on, so a stored number can be traced to the exact data. Databases
written before these columns existed gain them when opened (their old runs read ``None`` in both).

Runs also keep their per-epoch ``curves`` when given. Runs and key/value units record their ``invocation`` when
the writer gives one (the ``graphsparse`` command
does: command line, git commit, device, torch threads and an id shared by every run of one command), as a JSON
column added to older databases like the others (``None`` for what was written before).

**Reading without writing.** ``ResultsStore(path, read_only=True)`` opens the database with SQLite's
``mode=ro``, or, where that cannot work (a read-only folder or file system, where SQLite cannot create the WAL's
shared-memory file), as ``immutable=1``: listing, showing, comparing and exporting runs then works on a read-only
file, folder or disk. An immutable open reads the database file alone, so changes still in a ``-wal`` file beside it
(a writer that was killed before its checkpoint) are not seen.

**Errors.** The schema is checked on open (a missing table or column is named); every SQLite failure (a lock held
beyond the timeout, a full disk, a database deleted, replaced or damaged, a read-only file) becomes one
:class:`StoreError` naming the database, what went wrong and what to do.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from numbers import Real
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import results_db
from ..graph import SCHEMA_VERSION
from ._schema import _RUN_COLUMNS, _SCHEMA, _migrate, _schema_problem, _table_columns

__all__ = ["ResultsStore", "StoreError", "default_db_path", "package_versions", "check_finite"]


class StoreError(ValueError):
    """A results database that cannot be opened, read or written.

    The message names the database, the problem and what to do (one line; the ``graphsparse`` command prints it
    and exits with status 2).
    """


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _finite_or_none(value: Any) -> Any:
    """``value`` (nested lists/dicts) with every NaN/inf number replaced by None.

    A curve may end at the non-finite epoch that stopped training; strict JSON has no NaN.
    """
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, Real) and not isinstance(value, bool) and not math.isfinite(float(value)):
        return None
    return value


def _loads_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _decoded(record: dict[str, Any], columns: tuple[str, ...], nullable: tuple[str, ...], where: str) -> None:
    """Decode the JSON ``columns`` of a stored row in place (``nullable`` ones may be NULL).

    A StoreError names the row and column when one is not JSON (a row edited by hand).
    """
    for column in columns:
        text = record.get(column)
        if text is None and column in nullable:
            continue
        try:
            record[column] = json.loads(text)
        except (TypeError, ValueError, RecursionError) as err:
            raise StoreError(
                f"{where} holds a malformed {column} ({type(err).__name__}: {err}); the row was edited by hand or "
                "damaged: fix or delete it"
            ) from None
        kind = list if column == "curves" else dict
        if not isinstance(record[column], kind) and not (record[column] is None and column in nullable):
            raise StoreError(
                f"{where} holds a {column} that is a JSON {type(record[column]).__name__}, not a JSON "
                f"{'list' if kind is list else 'object'}; the row was edited by hand or damaged: fix or delete it"
            )


_RUN_SCALARS: dict[str, tuple[type, ...]] = {
    "created": (int, float),
    "kind": (str,),
    "dataset": (str,),
    "model": (str,),
    "seed": (int, type(None)),
    "graph_fingerprint": (str, type(None)),
    "schema_version": (int, type(None)),
}


def _check_scalars(record: dict[str, Any], where: str) -> None:
    """Check that the plain columns of a stored run hold what :meth:`ResultsStore.record_run` writes.

    A StoreError names the column otherwise (a row edited by hand).
    """
    for column, kinds in _RUN_SCALARS.items():
        value = record.get(column)
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise StoreError(
                f"{where} holds {column} = {value!r} ({type(value).__name__}), not what graphsparse writes there; "
                "the row was edited by hand or damaged: fix or delete it"
            )


def _non_finite(value: Any, where: str) -> str | None:
    """Where (``metrics['test_acc']``, ``payload['test_accs'][2]``) the first NaN/inf number in ``value`` is."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Real):
        return None if math.isfinite(float(value)) else f"{where} = {value}"
    if isinstance(value, dict):
        items = ((f"{where}[{key!r}]", item) for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for path, item in items:
        found = _non_finite(item, path)
        if found:
            return found
    return None


def check_finite(value: Any, where: str) -> None:
    """Raise ValueError naming the first NaN/inf number in ``value`` (nested dicts/lists).

    A diverged or empty evaluation must never be stored as a result.

    Args:
        value: the numbers to check (nested dicts, lists and tuples; other values are ignored).
        where: the name of ``value`` in the message (``metrics``, ``payload``).

    Raises:
        ValueError: ``value`` holds a NaN or infinite number (its path is named).
    """
    found = _non_finite(value, where)
    if found:
        raise ValueError(f"refusing to store a non-finite result: {found} (nothing was written)")


def default_db_path() -> Path:
    """``$GRAPHSPARSE_DB`` if set, else ``./runs/graphsparse.db``."""
    return results_db()


def package_versions() -> dict[str, str]:
    """The versions recorded with every run: Python, torch, numpy, torch_geometric (when installed), graphsparse."""
    import numpy
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}
    # read from the installed metadata: importing torch_geometric only to ask costs two seconds a command
    try:
        versions["torch_geometric"] = importlib.metadata.version("torch_geometric")
    except importlib.metadata.PackageNotFoundError:  # optional at run time
        pass
    from .. import __version__

    versions["graphsparse"] = __version__
    return versions


class ResultsStore:
    """A results database at ``path``.

    Args:
        path: the database file (default: :func:`default_db_path`). Opened for writing, it is created with its
            folder when missing; opened ``read_only``, it must exist.
        timeout: seconds to wait for a lock another process holds before giving up (a :class:`StoreError`).
        read_only: open the database without ever writing it (``mode=ro``, or ``immutable=1`` on a read-only
            folder or file system): what ``graphsparse runs list|show|compare|export`` need. Writes then raise a
            :class:`StoreError`.

    Raises:
        StoreError: the database cannot be opened, is damaged or not a graphsparse results database, or lacks a
            table or column (named).
    """

    def __init__(self, path: str | Path | None = None, timeout: float = 60.0, *, read_only: bool = False) -> None:
        """Open the database, or create it when writing (the arguments are described in the class docstring)."""
        self.path = Path(path) if path is not None else default_db_path()
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"results database path {self.path} is a directory, not a file (give --db a file path)")
        self.timeout = timeout
        self.read_only = bool(read_only)
        self.immutable = False  # read-only through immutable=1 (set when mode=ro cannot work)
        self.written_runs = 0  # runs and units this object committed (the CLI reports them when interrupted)
        self.written_units = 0
        self.written_parts = 0
        # recorded with every run and unit this object writes (unless record_run is given its own): the
        # ``graphsparse`` command sets it to its invocation (command line, git commit, device, threads, id)
        self.invocation: dict[str, Any] | None = None
        self._identity: tuple[int, int] | None = None
        self._columns: dict[str, set[str]] = {}
        if self.read_only:
            self._open_read_only()
        else:
            self._open_for_writing()

    # ------------------------------------------------------------------------------------------ opening
    def _uri(self, mode: str) -> str:
        """The SQLite URI of the database: ``mode`` is ``rwc`` (create), ``rw``, ``ro`` or ``immutable``."""
        where = quote(str(self.path.absolute()))
        return f"file:{where}?immutable=1" if mode == "immutable" else f"file:{where}?mode={mode}"

    def _mode(self) -> str:
        if self.read_only:
            return "immutable" if self.immutable else "ro"
        return "rw" if self._identity is not None else "rwc"

    def _remember_identity(self) -> None:
        try:
            info = os.stat(self.path)
            self._identity = (info.st_dev, info.st_ino)
        except OSError:
            self._identity = (-1, -1)

    def _open_for_writing(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with closing(self._connect()) as con, con:
                    # switching to WAL can fail with "locked" at once, without waiting for the busy timeout,
                    # while another process creates the same database: retry until the timeout
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(_SCHEMA)
                    _migrate(con)
                    columns = _table_columns(con)
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err) or time.monotonic() > deadline:
                    raise self._error("open", err) from None
                time.sleep(0.05)
            except sqlite3.Error as err:
                raise self._error("open", err) from None
        self._remember_identity()
        self._set_columns(columns)

    def _open_read_only(self) -> None:
        if not self.path.exists():
            raise StoreError(
                f"no results database at {self.path} (graphsparse train and glt store their runs there; "
                "--db names another)"
            )
        self._identity = (-1, -1)  # never create it
        self._remember_identity()
        try:
            with closing(self._connect()) as con:
                columns = _table_columns(con)
        except sqlite3.OperationalError as err:
            # a WAL database needs its shared-memory file, which SQLite cannot create in a read-only folder or on a
            # read-only file system: read the file as immutable instead
            text = str(err).lower()
            if not any(word in text for word in ("readonly", "read-only", "unable to open", "disk i/o")):
                raise self._error("open", err) from None
            self.immutable = True
            try:
                with closing(self._connect()) as con:
                    columns = _table_columns(con)
            except sqlite3.Error as again:
                raise self._error("open", again) from None
        except sqlite3.Error as err:
            raise self._error("open", err) from None
        self._set_columns(columns)

    def _set_columns(self, columns: dict[str, set[str]]) -> None:
        problem = _schema_problem(columns, self.read_only)
        if problem is not None:
            raise StoreError(
                f"results database {self.path} lacks {problem}: it was edited by hand or was not written by "
                "graphsparse; give --db a graphsparse results database (or move this file aside: a new one is "
                "created where it was)"
            )
        self._columns = columns

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._uri(self._mode()), uri=True, timeout=self.timeout)
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return con

    # ------------------------------------------------------------------------------------------ errors
    def _explain(self, err: BaseException, opening: bool = False) -> tuple[str, str]:
        """What SQLite's ``err`` means for this database, as (a phrase completing "the database ...", what to do)."""
        low = str(err).lower()
        replaced = False
        if not opening and self._identity not in (None, (-1, -1)):
            try:
                info = os.stat(self.path)
                replaced = (info.st_dev, info.st_ino) != self._identity
            except OSError:
                pass
        if not opening and not self.path.exists():
            return "was deleted while in use", "restore it from a backup, or give --db a new file"
        if replaced:
            return (
                "was replaced by another file since it was opened",
                "check what replaced it, and give --db the results database you meant",
            )
        if "locked" in low or "busy" in low:
            return (
                f"stayed locked by another process beyond the {self.timeout:g} s timeout",
                "wait for the other graphsparse command (or sqlite3 session) to finish, or give --db another file",
            )
        if "full" in low:
            return "cannot grow: the disk is full", "free space on that disk, or give --db a file on another disk"
        if "readonly" in low or "read-only" in low:
            return (
                "is read-only (the file, its folder or the file system)",
                "make it writable or give --db a writable path (graphsparse runs list|show|compare|export read it "
                "as it is)",
            )
        if "no such table" in low or "no such column" in low or "has no column" in low:
            return (
                "lacks part of its schema",
                "it was edited by hand or was not written by graphsparse: give --db a graphsparse results database",
            )
        if isinstance(err, sqlite3.DatabaseError) and any(
            word in low for word in ("malformed", "not a database", "encrypted", "corrupt")
        ):
            return (
                "is damaged or is not a graphsparse results database",
                "restore it from a backup, or move it aside so that a new one is created",
            )
        if "disk i/o" in low:
            return (
                "could not be read or written (a disk I/O error: the file may be truncated, moved or on a failing "
                "disk)",
                "check the file and its disk, or give --db another file",
            )
        if "unable to open" in low:
            return (
                "cannot be opened (its folder is missing or not accessible)",
                "check the path and its permissions, or give --db another file",
            )
        return "failed", "check the file, or give --db another file"

    def _error(self, action: str, err: BaseException) -> StoreError:
        """One StoreError for SQLite's ``err`` while doing ``action`` ('open', 'store a run', ...).

        It names the database, what happened in words, SQLite's own message and what to do.
        """
        what, todo = self._explain(err, opening=action == "open")
        doing = "" if action == "open" else f" (while trying to {action})"
        return StoreError(f"results database {self.path} {what}{doing}: {err}; {todo}")

    @contextmanager
    def _sqlite(self, action: str) -> Iterator[None]:
        """Turn any SQLite error inside the block into one :class:`StoreError` (see :meth:`_error`)."""
        try:
            yield
        except sqlite3.Error as err:
            raise self._error(action, err) from None

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise StoreError(
                f"results database {self.path} was opened read-only: cannot {action}; open it without read_only "
                "to write"
            )

    def _select(self, table: str, column: str) -> str:
        """``column``, or ``NULL AS column`` where an older database (read, never migrated) lacks it."""
        return column if column in self._columns.get(table, {column}) else f"NULL AS {column}"

    def record_run(
        self,
        kind: str,
        dataset: str,
        model: str,
        seed: int | None,
        config: dict[str, Any],
        metrics: dict[str, Any],
        timings: dict[str, Any] | None = None,
        graph_fingerprint: str | None = None,
        invocation: dict[str, Any] | None = None,
        curves: list[dict[str, Any]] | None = None,
    ) -> int:
        """Store one finished run; returns its id.

        ``graph_fingerprint`` (``Graph.fingerprint()`` of the data the run used) ties the numbers to the exact data;
        the result schema version is recorded with every run.
        ``invocation`` (default: :attr:`invocation`) says what ran it (a JSON object); ``curves`` is the run's
        per-epoch history (``[{'epoch', 'loss', 'val_score', ...}, ...]``, non-finite numbers stored as null).
        A NaN or infinite metric is refused (ValueError naming it): nothing is written. A SQLite failure (full
        disk, lock beyond the timeout, database deleted or damaged) or a read-only store is a StoreError.
        """
        check_finite(metrics, "metrics")
        row = (
            time.time(),
            kind,
            dataset,
            model,
            seed,
            json.dumps(config, sort_keys=True, default=str),
            json.dumps(metrics, sort_keys=True, default=float),
            json.dumps(timings or {}, sort_keys=True, default=float),
            json.dumps(package_versions(), sort_keys=True),
            None if graph_fingerprint is None else str(graph_fingerprint),
            SCHEMA_VERSION,
            _json_or_none(invocation if invocation is not None else self.invocation),
            _json_or_none(None if curves is None else _finite_or_none(curves)),
        )
        self._writable("store a run")
        with self._sqlite("store a run"), closing(self._connect()) as con, con:
            cur = con.execute(
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS[1:])}) VALUES ({', '.join('?' * len(row))})", row
            )
            run_id = int(cur.lastrowid)
        self.written_runs += 1
        return run_id

    def runs(
        self,
        kind: str | None = None,
        dataset: str | None = None,
        model: str | None = None,
        *,
        since: float | None = None,
        ids: list[int] | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Stored runs, oldest first, optionally filtered.

        ``kind``, ``dataset`` and ``model`` must equal the run's; ``since`` (a Unix time: runs created at or after
        it), ``ids`` (these run ids), ``limit`` (only the newest ``limit`` of those that match, still oldest first).
        """
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("kind", kind), ("dataset", dataset), ("model", model)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("created >= ?")
            params.append(float(since))
        if ids is not None:
            clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
            params.extend(int(i) for i in ids)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        selected = ", ".join(self._select("runs", column) for column in _RUN_COLUMNS)
        query = f"SELECT {selected} FROM runs{where} ORDER BY id"
        if limit is not None:
            query = f"SELECT * FROM ({query} DESC LIMIT {max(0, int(limit))}) ORDER BY id"
        with self._sqlite("read runs"), closing(self._connect()) as con:
            rows = con.execute(query, params).fetchall()
        out = []
        for row in rows:
            record = dict(zip(_RUN_COLUMNS, row))
            _decoded(
                record,
                ("config", "metrics", "timings", "versions", "invocation", "curves"),
                ("invocation", "curves"),
                f"results database {self.path}: run {record['id']}",
            )
            _check_scalars(record, f"results database {self.path}: run {record['id']}")
            out.append(record)
        return out

    def run(self, run_id: int) -> dict | None:
        """The stored run ``run_id`` (as :meth:`runs` gives it), or None."""
        found = self.runs(ids=[int(run_id)])
        return found[0] if found else None

    def units(self, prefix: str = "", since: float | None = None) -> list[dict[str, Any]]:
        """The committed key/value units whose key starts with ``prefix`` (e.g. ``'glt|'``), oldest first.

        Each is a dict with ``key``, ``created``, ``payload`` and ``invocation``; ``since`` (a Unix time) keeps the
        units created at or after it.
        """
        invocation = self._select("results", "invocation")
        query = f"SELECT key, created, payload, {invocation} FROM results WHERE substr(key, 1, ?) = ? AND key != ?"
        params: list[Any] = [len(prefix), prefix, "__graphsparse_write_check__"]
        if since is not None:
            query += " AND created >= ?"
            params.append(float(since))
        with self._sqlite("read stored units"), closing(self._connect()) as con:
            rows = con.execute(query + " ORDER BY created, key", params).fetchall()
        out = []
        for key, created, payload, inv in rows:
            unit = {"key": key, "created": created, "payload": payload, "invocation": inv}
            _decoded(unit, ("payload", "invocation"), ("invocation",), f"results database {self.path}: unit {key!r}")
            out.append(unit)
        return out

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Commit a finished unit of work under ``key`` (replacing an older one).

        A payload holding a NaN or infinite number is refused (ValueError naming it): nothing is written.
        """
        check_finite(payload, "payload")
        self._writable("store a unit")
        with self._sqlite("store a unit"), closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO results (key, created, payload, invocation) VALUES (?, ?, ?, ?)",
                (key, time.time(), json.dumps(payload, sort_keys=True, default=float), _json_or_none(self.invocation)),
            )
        self.written_units += 1

    # Parts: pieces of a unit still being computed (one seed of a GLT level), committed as they arrive so a killed
    # run keeps them, and deleted once their unit is committed. A table of their own: listings of finished units
    # (keys, units) never see them.
    def put_part(self, key: str, payload: dict[str, Any]) -> None:
        """Commit one finished piece of an unfinished unit (refused like :meth:`put` when non-finite)."""
        check_finite(payload, "payload")
        self._writable("store a part")
        with self._sqlite("store a part"), closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO parts (key, created, payload) VALUES (?, ?, ?)",
                (key, time.time(), json.dumps(payload, sort_keys=True, default=float)),
            )
        self.written_parts += 1

    def get_part(self, key: str) -> dict[str, Any] | None:
        """The payload of the part under ``key``, or None."""
        if "parts" not in self._columns:  # an older database opened read-only
            return None
        with self._sqlite("read a part"), closing(self._connect()) as con:
            row = con.execute("SELECT payload FROM parts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        part = {"payload": row[0]}
        _decoded(part, ("payload",), (), f"results database {self.path}: part {key!r}")
        return part["payload"]

    def part_keys(self) -> list[str]:
        """The keys of every stored part, sorted."""
        if "parts" not in self._columns:
            return []
        with self._sqlite("read parts"), closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT key FROM parts ORDER BY key").fetchall()]

    def delete_parts(self, keys: list[str]) -> None:
        """Remove the parts under ``keys`` (their unit is committed and holds what they held)."""
        if keys:
            self._writable("delete parts")
            with self._sqlite("delete parts"), closing(self._connect()) as con, con:
                con.executemany("DELETE FROM parts WHERE key = ?", [(k,) for k in keys])

    def check_writable(self) -> None:
        """Raise ValueError when the database cannot be written (a read-only file or folder, a read-only file system).

        A write is tried inside a transaction that is rolled back, so nothing changes. Commands call this before
        their first epoch, so an unwritable database never costs finished training.
        """
        if self.read_only:
            raise StoreError(f"results database {self.path} is not writable: it was opened read-only")
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    con.execute(
                        "INSERT OR REPLACE INTO results (key, created, payload) VALUES (?, ?, ?)",
                        ("__graphsparse_write_check__", time.time(), "{}"),
                    )
                finally:
                    con.rollback()
        except sqlite3.Error as err:
            what, todo = self._explain(err)
            raise StoreError(f"results database {self.path} is not writable: it {what} ({err}); {todo}") from None

    def get(self, key: str) -> dict[str, Any] | None:
        """The payload committed under ``key``, or None."""
        with self._sqlite("read a stored unit"), closing(self._connect()) as con:
            row = con.execute("SELECT payload FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        unit = {"payload": row[0]}
        _decoded(unit, ("payload",), (), f"results database {self.path}: unit {key!r}")
        return unit["payload"]

    def keys(self, prefix: str = "") -> list[str]:
        """The keys of the committed units that start with ``prefix``, sorted."""
        with self._sqlite("read stored keys"), closing(self._connect()) as con:
            rows = con.execute("SELECT key FROM results WHERE key LIKE ? ORDER BY key", (prefix + "%",)).fetchall()
        return [r[0] for r in rows]
