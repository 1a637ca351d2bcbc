"""The results database's SQLite schema: its tables and columns, the check made on open, the migration of older files.

:class:`~graphsparse.experiments.store.ResultsStore` creates the tables with :data:`_SCHEMA`, names what a file
lacks with :func:`_schema_problem` and adds the columns later versions introduced with :func:`_migrate`.
"""

from __future__ import annotations

import json
import sqlite3

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

# what every graphsparse results database holds (the first release's columns): checked when a database is opened
_REQUIRED_COLUMNS = {
    "runs": _RUN_COLUMNS[:10],
    "results": ("key", "created", "payload"),
    "parts": ("key", "created", "payload"),
}
# tables a read-only open can do without (an older database, which a writer would have completed)
_OPTIONAL_TABLES = ("parts",)


def _table_columns(con: sqlite3.Connection) -> dict[str, set[str]]:
    """``{table: {column, ...}}`` of the database ``con`` is connected to."""
    tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: {row[1] for row in con.execute(f"PRAGMA table_info({json.dumps(table)})")} for table in tables}


def _schema_problem(columns: dict[str, set[str]], read_only: bool) -> str | None:
    """What a database with these tables and columns lacks (``table runs``, ``column runs.metrics``), or None."""
    if read_only and not any(table in columns for table in _REQUIRED_COLUMNS):
        return "every graphsparse table (runs, results): it is empty or was not written by graphsparse"
    for table, required in _REQUIRED_COLUMNS.items():
        if table not in columns:
            if read_only and table in _OPTIONAL_TABLES:
                continue
            return f"table {table}"
        missing = [column for column in required if column not in columns[table]]
        if missing:
            return f"column {table}.{missing[0]}"
    if not read_only:  # a writer has added every later column (_migrate)
        for table, added in (("runs", _ADDED_RUN_COLUMNS), ("results", _ADDED_RESULT_COLUMNS)):
            missing = [column for column, _ in added if column not in columns[table]]
            if missing:
                return f"column {table}.{missing[0]}"
    return None


def _migrate(con: sqlite3.Connection) -> None:
    """Add the columns an older ``runs`` / ``results`` table lacks.

    Another process may add them at the same time.
    """
    for table, added in (("runs", _ADDED_RUN_COLUMNS), ("results", _ADDED_RESULT_COLUMNS)):
        present = {row[1] for row in con.execute(f"PRAGMA table_info({table})")}
        for column, kind in added:
            if column not in present:
                try:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as err:
                    if "duplicate column" not in str(err):
                        raise
