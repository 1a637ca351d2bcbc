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
"""

from __future__ import annotations

import json
import math
import platform
import sqlite3
import time
from contextlib import closing
from numbers import Real
from pathlib import Path
from typing import Any

from ..config import results_db
from ..graph import SCHEMA_VERSION

__all__ = ["ResultsStore", "default_db_path", "package_versions", "check_finite"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    kind TEXT NOT NULL,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    seed INTEGER,
    config TEXT NOT NULL,
    metrics TEXT NOT NULL,
    timings TEXT NOT NULL,
    versions TEXT NOT NULL,
    graph_fingerprint TEXT,
    schema_version INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_dataset ON runs (kind, dataset, model);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
"""
# columns added after the first release, with their types: added to older databases when they are opened
_ADDED_RUN_COLUMNS = (
    ("graph_fingerprint", "TEXT"),
    ("schema_version", "INTEGER"),
    ("invocation", "TEXT"),
    ("curves", "TEXT"),
)
_ADDED_RESULT_COLUMNS = (("invocation", "TEXT"),)
_RUN_COLUMNS = (
    "id",
    "created",
    "kind",
    "dataset",
    "model",
    "seed",
    "config",
    "metrics",
    "timings",
    "versions",
    "graph_fingerprint",
    "schema_version",
    "invocation",
    "curves",
)


def _migrate(con: sqlite3.Connection) -> None:
    """Add the columns an older ``runs`` / ``results`` table lacks (another process may add them at the same
    time)."""
    for table, added in (("runs", _ADDED_RUN_COLUMNS), ("results", _ADDED_RESULT_COLUMNS)):
        present = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        for column, kind in added:
            if column not in present:
                try:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as err:
                    if "duplicate column" not in str(err):
                        raise


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _finite_or_none(value: Any) -> Any:
    """``value`` (nested lists/dicts) with every NaN/inf number replaced by None (a curve may end at the
    non-finite epoch that stopped training; strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, Real) and not isinstance(value, bool) and not math.isfinite(float(value)):
        return None
    return value


def _loads_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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
    """Raise ValueError naming the first NaN/inf number in ``value`` (nested dicts/lists): a diverged or empty
    evaluation must never be stored as a result."""
    found = _non_finite(value, where)
    if found:
        raise ValueError(f"refusing to store a non-finite result: {found} (nothing was written)")


def default_db_path() -> Path:
    """``$GRAPHSPARSE_DB`` if set, else ``./runs/graphsparse.db``."""
    return results_db()


def package_versions() -> dict[str, str]:
    import numpy
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}
    try:
        import torch_geometric

        versions["torch_geometric"] = torch_geometric.__version__
    except ImportError:  # optional at run time
        pass
    from .. import __version__

    versions["graphsparse"] = __version__
    return versions


class ResultsStore:
    """A results database at ``path`` (created with its folder if missing)."""

    def __init__(self, path: str | Path | None = None, timeout: float = 60.0) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if self.path.exists() and self.path.is_dir():
            raise ValueError(f"results database path {self.path} is a directory, not a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        self.written_runs = 0  # runs and units this object committed (the CLI reports them when interrupted)
        self.written_units = 0
        self.written_parts = 0
        # recorded with every run and unit this object writes (unless record_run is given its own): the
        # ``graphsparse`` command sets it to its invocation (command line, git commit, device, threads, id)
        self.invocation: dict[str, Any] | None = None
        deadline = time.monotonic() + timeout
        while True:
            try:
                with closing(self._connect()) as con, con:
                    # switching to WAL can fail with "locked" at once, without waiting for the busy timeout,
                    # while another process creates the same database: retry until the timeout
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    con.executescript(_SCHEMA)
                    _migrate(con)
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err) or time.monotonic() > deadline:
                    raise ValueError(f"cannot open results database {self.path}: {err}") from err
                time.sleep(0.05)
            except sqlite3.DatabaseError as err:
                raise ValueError(f"{self.path} is not a graphsparse results database: {err}") from err

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout)
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        return con

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
        """Store one finished run; returns its id. ``graph_fingerprint`` (``Graph.fingerprint()`` of the data the
        run used) ties the numbers to the exact data; the result schema version is recorded with every run.
        ``invocation`` (default: :attr:`invocation`) says what ran it (a JSON object); ``curves`` is the run's
        per-epoch history (``[{'epoch', 'loss', 'val_score', ...}, ...]``, non-finite numbers stored as null).
        A NaN or infinite metric is refused (ValueError naming it): nothing is written."""
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
        with closing(self._connect()) as con, con:
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
        """Stored runs, oldest first, optionally filtered: ``since`` (a Unix time: runs created at or after it),
        ``ids`` (these run ids), ``limit`` (only the newest ``limit`` of those that match, still oldest first)."""
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
        query = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs{where} ORDER BY id"
        if limit is not None:
            query = f"SELECT * FROM ({query} DESC LIMIT {max(0, int(limit))}) ORDER BY id"
        with closing(self._connect()) as con:
            rows = con.execute(query, params).fetchall()
        out = []
        for row in rows:
            record = dict(zip(_RUN_COLUMNS, row))
            for k in ("config", "metrics", "timings", "versions"):
                record[k] = json.loads(record[k])
            record["invocation"] = _loads_or_none(record["invocation"])
            record["curves"] = _loads_or_none(record["curves"])
            out.append(record)
        return out

    def run(self, run_id: int) -> dict | None:
        """The stored run ``run_id`` (as :meth:`runs` gives it), or None."""
        found = self.runs(ids=[int(run_id)])
        return found[0] if found else None

    def units(self, prefix: str = "", since: float | None = None) -> list[dict[str, Any]]:
        """The committed key/value units whose key starts with ``prefix`` (e.g. ``'glt|'``), oldest first: dicts
        with ``key``, ``created``, ``payload`` and ``invocation``."""
        query = "SELECT key, created, payload, invocation FROM results WHERE substr(key, 1, ?) = ? AND key != ?"
        params: list[Any] = [len(prefix), prefix, "__graphsparse_write_check__"]
        if since is not None:
            query += " AND created >= ?"
            params.append(float(since))
        with closing(self._connect()) as con:
            rows = con.execute(query + " ORDER BY created, key", params).fetchall()
        return [
            {"key": key, "created": created, "payload": json.loads(payload), "invocation": _loads_or_none(inv)}
            for key, created, payload, inv in rows
        ]

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Commit a finished unit of work under ``key`` (replacing an older one). A payload holding a NaN or
        infinite number is refused (ValueError naming it): nothing is written."""
        check_finite(payload, "payload")
        with closing(self._connect()) as con, con:
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
        with closing(self._connect()) as con, con:
            con.execute(
                "INSERT OR REPLACE INTO parts (key, created, payload) VALUES (?, ?, ?)",
                (key, time.time(), json.dumps(payload, sort_keys=True, default=float)),
            )
        self.written_parts += 1

    def get_part(self, key: str) -> dict[str, Any] | None:
        with closing(self._connect()) as con:
            row = con.execute("SELECT payload FROM parts WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def part_keys(self) -> list[str]:
        with closing(self._connect()) as con:
            return [r[0] for r in con.execute("SELECT key FROM parts ORDER BY key").fetchall()]

    def delete_parts(self, keys: list[str]) -> None:
        """Remove the parts under ``keys`` (their unit is committed and holds what they held)."""
        if keys:
            with closing(self._connect()) as con, con:
                con.executemany("DELETE FROM parts WHERE key = ?", [(k,) for k in keys])

    def check_writable(self) -> None:
        """Raise ValueError when the database cannot be written (a read-only file or folder, a read-only file
        system): a write is tried inside a transaction that is rolled back, so nothing changes. Commands call this
        before their first epoch, so an unwritable database never costs finished training."""
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
            raise ValueError(f"results database {self.path} is not writable: {err}") from err

    def get(self, key: str) -> dict[str, Any] | None:
        """The payload committed under ``key``, or None."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT payload FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def keys(self, prefix: str = "") -> list[str]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT key FROM results WHERE key LIKE ? ORDER BY key", (prefix + "%",)).fetchall()
        return [r[0] for r in rows]
