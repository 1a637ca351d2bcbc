"""Resources and signals: a closed or full stdout after the runs are stored ends quietly (nothing lost),
an unreachable or malformed ``--ray-address`` is one line within seconds, Ctrl-C during ``tune`` is one line (no
Optuna traceback) and Optuna's heartbeat threads never keep the process alive."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from graphsparse.cli import main

SCRIPT = str(Path(sys.executable).parent / "graphsparse")
TRAIN = ["train", "--dataset", "cora", "--preset", "none", "--hidden", "8", "--epochs", "2", "--seeds", "2"]


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def _runs(db: Path) -> int:
    with closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_after_the_runs_are_stored_is_one_line(tmp_path) -> None:
    db = tmp_path / "r.db"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [SCRIPT, *TRAIN, "--db", str(db), "--json", "--no-progress"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            timeout=300,
        )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert str(db) in lines[0] and "stdout" in lines[0]
    assert _runs(db) == 2  # nothing lost


def test_a_closed_stdout_after_the_runs_are_stored_is_quiet(tmp_path) -> None:
    db = tmp_path / "r.db"
    read, write = os.pipe()
    os.close(read)  # the reader went away before anything was printed
    try:
        done = subprocess.run(
            [SCRIPT, *TRAIN, "--db", str(db), "--json", "--no-progress"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            timeout=300,
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip() == "", done.stderr
    assert _runs(db) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("address", ["closed", "nonsense", "127.0.0.1:99999", "ray://host", "a b:1"])
def test_an_unreachable_or_malformed_ray_address_is_one_line(address, tmp_path, capsys) -> None:
    if address == "closed":
        address = f"127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    code = main([*TRAIN, "--ray-address", address, "--db", str(tmp_path / "r.db"), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("[")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert address in lines[0] and ("cannot reach" in lines[0] or "must be 'auto'" in lines[0]), lines[0]
    assert time.monotonic() - start < 30


def test_ctrl_c_during_tune_is_one_line_and_the_process_exits(tmp_path) -> None:
    """A KeyboardInterrupt inside the first trial: exit 130, one line, no Optuna traceback, no hang at exit."""
    db = tmp_path / "r.db"
    code = f"""
import sys
import graphsparse.tuning.objective as objective
def interrupted(*args, **kwargs):
    raise KeyboardInterrupt
objective.run_config = interrupted
from graphsparse.cli import main
sys.exit(main(["tune", "--dataset", "cora", "--trials", "3", "--trial-seeds", "1", "--seeds", "1",
               "--epochs", "2", "--heartbeat", "1", "--db", {str(db)!r}, "--no-progress"]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120, cwd=tmp_path
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert lines[0].startswith("graphsparse tune: interrupted")


def test_heartbeat_threads_are_daemons_while_trials_run() -> None:
    pytest.importorskip("optuna")
    from optuna.storages import _heartbeat

    from graphsparse.tuning.study import _interrupt_safe

    with _interrupt_safe():
        thread = _heartbeat.Thread(target=lambda: None)
    assert thread.daemon
    assert _heartbeat.Thread is threading.Thread  # restored afterwards
