"""A finished run is always committed or printed: a results store that fails while ``train`` or
``glt`` runs (the disk fills up, the database is deleted or stays locked) loses nothing. What the store could not
take goes to a recovery file named on stderr (or, with every disk full, to stdout as JSON lines), the command exits
1 with one line naming the database, and ``graphsparse runs import`` stores the records once the database works."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from graphsparse.cli import main
from graphsparse.cli.recovery import GuardedStore, load_recovery
from graphsparse.experiments.store import ResultsStore

TRAIN = ["train", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--epochs", "2", "--seeds", "10"]
GLT = [
    "glt",
    "--dataset",
    "cora",
    "--preset",
    "none",
    "--hidden",
    "8",
    "--method",
    "teddy",
    "--distill",
    "0",
    "--epochs",
    "3",
    "--seeds",
    "2",
    "--rounds",
    "3",
]


# ---------------------------------------------------------------------------------------------- faults
@contextlib.contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (root only: the test is skipped elsewhere)."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; returns the filler file (remove it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):  # big blocks, then the last partial ones
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


def after_writes(monkeypatch: pytest.MonkeyPatch, n: int, fault: Callable[[ResultsStore], None]) -> dict[str, int]:
    """Run ``fault(store)`` once, right after the store's ``n``-th committed write (a run, a unit or a part)."""
    count = {"writes": 0}
    for name in ("record_run", "put", "put_part"):
        original = getattr(ResultsStore, name)

        def wrapped(self: ResultsStore, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            out = _original(self, *args, **kwargs)
            count["writes"] += 1
            if count["writes"] == n:
                fault(self)
            return out

        monkeypatch.setattr(ResultsStore, name, wrapped)
    return count


def full_disk_connections(monkeypatch: pytest.MonkeyPatch) -> Callable[[ResultsStore], None]:
    """A fault: every later connection's write fails as SQLite fails on a full disk."""

    class FullConnection(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            if sql.lstrip().upper().startswith(("INSERT", "DELETE", "UPDATE", "BEGIN")):
                raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    def fault(store: ResultsStore) -> None:
        def connect(self: ResultsStore) -> sqlite3.Connection:
            return sqlite3.connect(self._uri(self._mode()), uri=True, timeout=0.1, factory=FullConnection)

        monkeypatch.setattr(ResultsStore, "_connect", connect)

    return fault


def delete_database(store: ResultsStore) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store.path}{suffix}").unlink(missing_ok=True)


def lock_database(holders: list[sqlite3.Connection]) -> Callable[[ResultsStore], None]:
    def fault(store: ResultsStore) -> None:
        store.timeout = 0.2  # the command's 60 s, shortened for the test
        con = sqlite3.connect(store.path, timeout=0.2, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        holders.append(con)

    return fault


# ---------------------------------------------------------------------------------------------- checks
def stored_seeds(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [row[0] for row in con.execute("SELECT seed FROM runs ORDER BY id")]


def recovered(err: str, out: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The records the failed command kept: from the recovery file named on stderr, and stdout's JSON lines."""
    records: list[dict[str, Any]] = []
    lines = [line for line in err.splitlines() if line.startswith("graphsparse ")]  # not glt's "plot: PATH"
    assert "Traceback" not in err
    assert len(lines) == 2, err
    assert lines[0].startswith("graphsparse ") and ": error: results database " in lines[0], lines[0]
    assert "runs import" in lines[1], lines[1]
    if "saved in " in lines[1]:
        name = lines[1].split("saved in ", 1)[1].split(" and ")[0].split(": once")[0]
        records += load_recovery(name)
    if "printed on stdout" in lines[1]:
        saved = tmp_path / "stdout.jsonl"
        saved.write_text(out)
        records += load_recovery(saved)
    return records


def run_seeds(records: list[dict[str, Any]]) -> list[int]:
    return [r["record"]["seed"] for r in records if r["type"] == "run"]


# ---------------------------------------------------------------------------------------------- train
@pytest.mark.parametrize("case", ["full", "deleted", "locked"])
def test_train_seeds_10_loses_no_run_when_the_store_fails(case, tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "db" / "runs.db"
    holders: list[sqlite3.Connection] = []
    fault = {"full": full_disk_connections(monkeypatch), "deleted": delete_database, "locked": lock_database(holders)}
    after_writes(monkeypatch, 3, fault[case])
    monkeypatch.chdir(tmp_path)
    try:
        code = main([*TRAIN, "--db", str(db), "--no-progress"])
    finally:
        for con in holders:
            con.rollback()
            con.close()
    out, err = capsys.readouterr()
    assert code == 1, err
    assert str(db) in err.splitlines()[0]
    kept = recovered(err, out, tmp_path)
    if case == "deleted":  # the three committed runs went with the file; every run after it is kept
        assert run_seeds(kept) == list(range(3, 10))
    else:
        assert stored_seeds(db) == [0, 1, 2]
        assert sorted(stored_seeds(db) + run_seeds(kept)) == list(range(10))


def test_runs_import_stores_what_a_failed_train_kept(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "runs.db"
    fault = full_disk_connections(monkeypatch)
    after_writes(monkeypatch, 4, fault)
    monkeypatch.chdir(tmp_path)
    assert main([*TRAIN, "--db", str(db), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    kept = recovered(err, out, tmp_path)
    assert run_seeds(kept) == list(range(4, 10))
    monkeypatch.undo()  # the disk works again
    monkeypatch.chdir(tmp_path)
    name = err.split("`graphsparse runs import ")[1].split(" --db")[0]
    assert main(["runs", "import", name, "--db", str(db)]) == 0
    assert "6 runs" in capsys.readouterr().err
    assert stored_seeds(db) == list(range(10))
    assert main(["runs", "list", "--db", str(db), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 10
    assert main(["runs", "import", name, "--db", str(db)]) == 0  # a second import stores nothing twice
    assert "6 runs already there, skipped" in capsys.readouterr().err
    assert stored_seeds(db) == list(range(10))


@pytest.mark.parametrize("where", ["another disk", "nowhere"])
def test_train_on_a_disk_that_fills_up(where, tmp_path, monkeypatch, capsys) -> None:
    """A real full disk: a tmpfs filled to the last byte after the third run is stored. The recovery file goes to
    the working folder on another disk, or (every folder on the full disk) the runs are printed on stdout."""
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "runs.db"
        filler: list[Path] = []
        after_writes(monkeypatch, 3, lambda store: filler.append(fill(disk)))
        work = disk if where == "nowhere" else tmp_path
        monkeypatch.chdir(work)
        monkeypatch.setattr(tempfile, "tempdir", str(disk))
        code = main([*TRAIN, "--db", str(db), "--no-progress", "--json"])
        out, err = capsys.readouterr()
        assert code == 1, err
        kept = recovered(err, out, tmp_path)
        if where == "nowhere":
            assert "printed on stdout" in err
        else:
            assert "saved in " + str(tmp_path) in err
        filler[0].unlink()
        assert sorted(stored_seeds(db) + run_seeds(kept)) == list(range(10))
        assert len(stored_seeds(db)) == 3


# ---------------------------------------------------------------------------------------------- glt
def test_glt_on_a_disk_that_fills_up_loses_no_level(tmp_path, monkeypatch, capsys) -> None:
    """A GLT search whose database disk fills after its first commit: every level and seed it finished is in
    the recovery file; imported, a rerun of the same command loads every level and trains nothing."""
    with small_disk(tmp_path / "disk") as disk:
        db = disk / "glt.db"
        plot = tmp_path / "glt.png"
        filler: list[Path] = []
        after_writes(monkeypatch, 1, lambda store: filler.append(fill(disk)))
        monkeypatch.chdir(tmp_path)
        argv = [*GLT, "--db", str(db), "--plot", str(plot), "--no-progress", "--json"]
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 1, err
        kept = recovered(err, out, tmp_path)
        filler[0].unlink()
        units = [r for r in kept if r["type"] == "unit"]
        store = ResultsStore(db)
        stored = store.keys("glt|")
        assert len(stored) + len(units) == 1 + 3  # the dense level and three rounds
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)
        name = err.split("`graphsparse runs import ")[1].split(" --db")[0]
        assert main(["runs", "import", name, "--db", str(db)]) == 0
        capsys.readouterr()
        assert len(ResultsStore(db).keys("glt|")) == 4

        def no_training(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a stored level was trained again")

        monkeypatch.setattr("graphsparse.sparsify.search.method_unit", no_training)
        assert main(argv) == 0, capsys.readouterr().err


def test_glt_store_deleted_mid_search_keeps_parts_and_levels(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "glt.db"
    after_writes(monkeypatch, 2, delete_database)
    monkeypatch.chdir(tmp_path)
    code = main([*GLT, "--db", str(db), "--plot", str(tmp_path / "p.png"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1, err
    kept = recovered(err, out, tmp_path)
    assert {r["type"] for r in kept} >= {"unit"}
    assert "was deleted while in use" in err.splitlines()[0]


# ---------------------------------------------------------------------------------------------- units
def test_guarded_store_passes_reads_and_settings_through(tmp_path) -> None:
    inner = ResultsStore(tmp_path / "a.db")
    guarded = GuardedStore(inner, "train")
    guarded.invocation = {"id": "x"}
    assert inner.invocation == {"id": "x"}
    run_id = guarded.record_run("node", "cora", "gcn", 0, {}, {"test_acc": 0.5})
    assert guarded.run(run_id)["invocation"] == {"id": "x"}
    assert not guarded.failed and guarded.written_runs == 1


def test_a_non_finite_metric_is_still_refused(tmp_path) -> None:
    guarded = GuardedStore(ResultsStore(tmp_path / "a.db"), "train")
    with pytest.raises(ValueError, match="non-finite|NaN|nan"):
        guarded.record_run("node", "cora", "gcn", 0, {}, {"test_acc": float("nan")})
    assert not guarded.failed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        "[1, 2]",
        '{"format": "graphsparse-recovery/1"}',
        '{"format": "graphsparse-recovery/1", "records": [1]}',
    ],
)
def test_runs_import_refuses_what_is_not_a_recovery_file(text, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert main(["runs", "import", str(bad), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


# ---------------------------------------------------------------------------------------------- tune, workers
def test_tune_keeps_its_final_runs_and_summary_when_the_store_fails(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "r.db"
    after_writes(monkeypatch, 1, full_disk_connections(monkeypatch))
    monkeypatch.chdir(tmp_path)
    argv = ["tune", "--dataset", "cora", "--trials", "2", "--trial-seeds", "1", "--seeds", "2", "--epochs", "2"]
    code = main([*argv, "--db", str(db), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1, err
    kept = recovered(err, out, tmp_path)
    stored = ResultsStore(db).runs()
    runs = [r for r in kept if r["type"] == "run"]
    assert len(stored) == 1 and len(stored) + len(runs) == 4  # two tuned and two baseline runs
    assert [r["key"] for r in kept if r["type"] == "unit"][0].startswith("tune|")  # the study's summary


@pytest.mark.integration
def test_train_with_workers_keeps_every_seed_when_the_store_fails(tmp_path, monkeypatch, capsys) -> None:
    """Seeds that finish on Ray workers while the store fails (results reported in seed order): none is lost."""
    pytest.importorskip("ray")
    db = tmp_path / "r.db"
    after_writes(monkeypatch, 2, full_disk_connections(monkeypatch))
    monkeypatch.chdir(tmp_path)
    argv = [*TRAIN[:-1], "6", "--workers", "2", "--db", str(db), "--no-progress"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1, err
    kept = recovered(err, out, tmp_path)
    assert stored_seeds(db) == [0, 1]
    assert sorted(run_seeds(kept)) == [2, 3, 4, 5]
