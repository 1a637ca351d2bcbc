"""The results store under hostile conditions: read-only opens work on read-only files and folders
without changing a byte, the schema is checked on open, and every SQLite failure (full disk, lock beyond the
timeout, database deleted, replaced, truncated or damaged, rows edited by hand) is one StoreError naming the
database and what to do."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphsparse.experiments.store import ResultsStore, StoreError

NOBODY = 65534


def _filled(path: Path, runs: int = 3) -> ResultsStore:
    """A database at ``path`` with ``runs`` runs and one GLT unit, its WAL checkpointed into the file."""
    store = ResultsStore(path)
    for seed in range(runs):
        store.record_run("node", "cora", "gcn", seed, {"lr": 0.01, "pad": "x" * 2000}, {"test_acc": 0.5 + seed / 100})
    store.put("glt|cora|gcn|teddy|1", {"val_acc": 0.7})
    with sqlite3.connect(path) as con:  # everything in the main file: what a copy or a truncation sees
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return store


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _unprivileged(work: Callable[[], Any]) -> Any:
    """``work()``'s (JSON-able) result, run without root's power to ignore permission bits: in a forked child
    that dropped to the ``nobody`` user when this process is root, in this process otherwise."""
    if os.geteuid() != 0:
        return work()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                result: Any = {"ok": work()}
            except Exception as err:  # the parent reports it
                result = {"error": f"{type(err).__name__}: {err}"}
            with os.fdopen(write, "w") as out:
                json.dump(result, out)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as inp:
        text = inp.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text, f"the unprivileged child failed: {text!r}"
    result = json.loads(text)
    if "error" in result:
        raise AssertionError(result["error"])
    return result["ok"]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder the ``nobody`` user can reach (pytest's tmp_path sits under a folder only root may enter)."""
    base = Path(tempfile.mkdtemp(prefix="gs-store-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for folder, dirs, _ in os.walk(base):
            for name in dirs:
                (Path(folder) / name).chmod(0o755)
        for folder, _, files in os.walk(base, topdown=False):
            for name in files:
                (Path(folder) / name).unlink()
            Path(folder).rmdir()


# ---------------------------------------------------------------------------------------------- read-only opens
def test_read_only_store_lists_everything_and_changes_nothing(tmp_path) -> None:
    db = tmp_path / "r.db"
    _filled(db)
    before = _digest(db)
    store = ResultsStore(db, read_only=True)
    runs = store.runs()
    assert [r["seed"] for r in runs] == [0, 1, 2] and runs[2]["metrics"] == {"test_acc": 0.52}
    assert [u["key"] for u in store.units("glt|")] == ["glt|cora|gcn|teddy|1"]
    assert store.run(2)["config"]["lr"] == 0.01 and store.get("glt|cora|gcn|teddy|1") == {"val_acc": 0.7}
    assert store.keys("glt|") == ["glt|cora|gcn|teddy|1"] and store.part_keys() == []
    for write in (
        lambda: store.record_run("node", "cora", "gcn", 9, {}, {"test_acc": 0.9}),
        lambda: store.put("k", {"a": 1}),
        lambda: store.put_part("p", {"a": 1}),
        lambda: store.delete_parts(["p"]),
    ):
        with pytest.raises(StoreError, match=rf"results database {db} was opened read-only: cannot"):
            write()
    with pytest.raises(StoreError, match=rf"results database {db} is not writable: it was opened read-only"):
        store.check_writable()
    assert _digest(db) == before and len(ResultsStore(db).runs()) == 3


def test_read_only_open_never_creates_a_database(tmp_path) -> None:
    missing = tmp_path / "none" / "r.db"
    with pytest.raises(StoreError, match=rf"no results database at {missing}"):
        ResultsStore(missing, read_only=True)
    assert not missing.parent.exists()
    with pytest.raises(StoreError, match="is a directory, not a file"):
        ResultsStore(tmp_path, read_only=True)


def test_chmod_read_only_file_and_folder_are_listed(shared_tmp) -> None:
    """The issue's case: ``runs list`` on a read-only file in a read-only folder (SQLite cannot create the WAL's
    shared-memory file there: the store falls back to an immutable open)."""
    folder = shared_tmp / "results"
    folder.mkdir()
    db = folder / "r.db"
    _filled(db, runs=4)
    before = _digest(db)
    db.chmod(0o444)
    folder.chmod(0o555)

    def list_runs() -> dict[str, Any]:
        store = ResultsStore(db, read_only=True)
        seeds = [r["seed"] for r in store.runs(kind="node", dataset="cora")]
        units = [u["key"] for u in store.units("glt|")]
        try:
            ResultsStore(db).record_run("node", "cora", "gcn", 9, {}, {"test_acc": 0.9})
            write = "written"
        except StoreError as err:  # a writer opening it gets one clear line, never a raw sqlite3 error
            write = str(err)
        return {"seeds": seeds, "units": units, "immutable": store.immutable, "write": write}

    seen = _unprivileged(list_runs)
    assert seen["seeds"] == [0, 1, 2, 3] and seen["units"] == ["glt|cora|gcn|teddy|1"]
    assert seen["immutable"] is True
    assert seen["write"].startswith(f"results database {db} ") and "read-only" in seen["write"]
    assert _digest(db) == before and sorted(p.name for p in folder.iterdir()) == ["r.db"]


def test_read_only_file_in_a_writable_folder_is_listed(shared_tmp) -> None:
    folder = shared_tmp / "open"
    folder.mkdir()
    folder.chmod(0o777)  # writable by everyone: SQLite may create the WAL's shared-memory file beside the database
    db = folder / "r.db"
    _filled(db, runs=2)
    before = _digest(db)
    db.chmod(0o444)
    seeds = _unprivileged(lambda: [r["seed"] for r in ResultsStore(db, read_only=True).runs()])
    assert seeds == [0, 1] and _digest(db) == before


def test_read_only_open_reads_an_older_database_it_may_not_migrate(tmp_path) -> None:
    """A database from before the fingerprint, invocation and curves columns and the parts table."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as con:
        con.executescript(
            """
            CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, kind TEXT NOT NULL,
                dataset TEXT NOT NULL, model TEXT NOT NULL, seed INTEGER, config TEXT NOT NULL,
                metrics TEXT NOT NULL, timings TEXT NOT NULL, versions TEXT NOT NULL);
            CREATE TABLE results (key TEXT PRIMARY KEY, created REAL NOT NULL, payload TEXT NOT NULL);
            INSERT INTO runs VALUES (1, 1.0, 'node', 'cora', 'gcn', 0, '{}', '{"test_acc": 0.8}', '{}', '{}');
            INSERT INTO results VALUES ('glt|a', 2.0, '{"val_acc": 0.6}');
            """
        )
    before = _digest(db)
    store = ResultsStore(db, read_only=True)
    [run] = store.runs()
    assert run["metrics"] == {"test_acc": 0.8} and run["invocation"] is None and run["curves"] is None
    assert run["graph_fingerprint"] is None and run["schema_version"] is None
    assert store.units("glt|")[0]["invocation"] is None and store.part_keys() == [] and store.get_part("x") is None
    assert _digest(db) == before
    ResultsStore(db)  # a writer migrates it
    assert {"invocation", "curves"} <= {row[1] for row in sqlite3.connect(db).execute("PRAGMA table_info(runs)")}


# ---------------------------------------------------------------------------------------------- the schema check
@pytest.mark.parametrize("read_only", [False, True])
def test_a_hand_edited_schema_is_named_on_open(tmp_path, read_only) -> None:
    db = tmp_path / "edited.db"
    _filled(db)
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE runs DROP COLUMN metrics")
    with pytest.raises(StoreError, match=rf"results database {db} lacks column runs\.metrics: it was edited by hand"):
        ResultsStore(db, read_only=read_only)


def test_a_missing_table_is_named_on_a_read_only_open(tmp_path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE results (key TEXT PRIMARY KEY, created REAL NOT NULL, payload TEXT NOT NULL)")
    with pytest.raises(StoreError, match=rf"results database {db} lacks table runs"):
        ResultsStore(db, read_only=True)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE songs (title TEXT)")
    with pytest.raises(StoreError, match="lacks every graphsparse table"):
        ResultsStore(foreign, read_only=True)


def test_a_row_edited_by_hand_is_named(tmp_path) -> None:
    db = tmp_path / "r.db"
    _filled(db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE runs SET metrics = '{not json' WHERE id = 2")
        con.execute("UPDATE results SET payload = 'nan nan' WHERE key LIKE 'glt|%'")
    store = ResultsStore(db, read_only=True)
    with pytest.raises(StoreError, match=rf"results database {db}: run 2 holds a malformed metrics \(JSONDecodeError"):
        store.runs()
    with pytest.raises(StoreError, match=r"unit 'glt\|cora\|gcn\|teddy\|1' holds a malformed payload"):
        store.units("glt|")


# ---------------------------------------------------------------------------------------------- damaged files
@pytest.mark.parametrize("read_only", [False, True])
def test_a_truncated_database_is_one_clear_error(tmp_path, read_only) -> None:
    db = tmp_path / "r.db"
    _filled(db, runs=40)
    size = db.stat().st_size
    assert size > 16 * 4096
    with open(db, "r+b") as f:
        f.truncate(size // 3)
    with pytest.raises(StoreError) as caught:
        ResultsStore(db, read_only=read_only).runs()
    message = str(caught.value)
    assert message.startswith(f"results database {db} ") and "restore it from a backup" in message
    assert "damaged" in message or "disk I/O" in message


@pytest.mark.parametrize("read_only", [False, True])
def test_a_database_with_garbage_pages_is_one_clear_error(tmp_path, read_only) -> None:
    db = tmp_path / "r.db"
    _filled(db, runs=40)
    with open(db, "r+b") as f:  # keep the header, overwrite the b-tree pages after it
        f.seek(4096)
        f.write(b"\xa5" * 12 * 4096)
    with pytest.raises(StoreError, match=rf"results database {db} is damaged or is not a graphsparse results database"):
        ResultsStore(db, read_only=read_only).runs()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_a_database_is_refused_on_open(tmp_path, read_only) -> None:
    db = tmp_path / "notes.db"
    db.write_text("these are my notes\n" * 300)
    with pytest.raises(StoreError, match=rf"{db} is damaged or is not a graphsparse results database.*move it aside"):
        ResultsStore(db, read_only=read_only)
    assert db.read_text() == "these are my notes\n" * 300


# ---------------------------------------------------------------------------------------------- failures in use
def test_a_database_deleted_while_in_use_is_named_and_not_recreated(tmp_path) -> None:
    db = tmp_path / "r.db"
    store = _filled(db)
    db.unlink()
    with pytest.raises(
        StoreError, match=rf"results database {db} was deleted while in use \(while trying to read runs"
    ):
        store.runs()
    with pytest.raises(StoreError, match=r"was deleted while in use \(while trying to store a run\)"):
        store.record_run("node", "cora", "gcn", 9, {}, {"test_acc": 0.9})
    assert not db.exists()  # an empty database in its place would hide the loss


def test_a_database_replaced_while_in_use_is_named(tmp_path) -> None:
    db = tmp_path / "r.db"
    store = _filled(db)
    other = tmp_path / "other"
    other.write_text("not a database\n" * 500)
    os.replace(other, db)
    with pytest.raises(StoreError, match=rf"results database {db} was replaced by another file since it was opened"):
        store.runs()


def test_a_full_disk_is_one_clear_error_and_nothing_is_half_written(tmp_path, monkeypatch) -> None:
    db = tmp_path / "r.db"
    store = _filled(db, runs=1)
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    connect = ResultsStore._connect

    def no_room(self: ResultsStore) -> sqlite3.Connection:  # the database cannot grow: SQLite's SQLITE_FULL
        con = connect(self)
        con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    monkeypatch.setattr(ResultsStore, "_connect", no_room)
    with pytest.raises(
        StoreError, match=rf"results database {db} cannot grow: the disk is full \(while trying to store"
    ):
        store.record_run("node", "cora", "gcn", 5, {"big": "y" * 200_000}, {"test_acc": 0.9})
    with pytest.raises(StoreError, match="the disk is full"):
        store.put("big", {"blob": "z" * 200_000})
    monkeypatch.undo()
    assert [r["seed"] for r in store.runs()] == [0] and store.get("big") is None and store.written_runs == 1


def test_a_lock_held_beyond_the_timeout_is_one_clear_error(tmp_path) -> None:
    db = tmp_path / "r.db"
    _filled(db, runs=1)
    store = ResultsStore(db, timeout=0.2)
    holder = sqlite3.connect(db, timeout=0.1)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=rf"{db} stayed locked by another process beyond the 0.2 s timeout"):
            store.record_run("node", "cora", "gcn", 5, {}, {"test_acc": 0.9})
        with pytest.raises(StoreError, match=r"is not writable: it stayed locked"):
            store.check_writable()
    finally:
        holder.rollback()
        holder.close()
    store.record_run("node", "cora", "gcn", 5, {}, {"test_acc": 0.9})  # released: it works again
    assert len(store.runs()) == 2


def test_store_errors_are_value_errors_the_command_prints_in_one_line(tmp_path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("x" * 5000)
    with pytest.raises(ValueError) as caught:
        ResultsStore(db)
    assert isinstance(caught.value, StoreError) and "\n" not in str(caught.value)
