"""The thread policy: one thread for small graphs, the free cores for large ones, ``--threads`` and
``OMP_NUM_THREADS`` override it, bad values are refused in one line, and the choice is recorded."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import torch

from graphsparse import threads
from graphsparse.cli import main
from graphsparse.threads import (
    SMALL_GRAPH_WORK,
    apply_threads,
    check_threads,
    choose_threads,
    graph_work,
    resolve_threads,
)


@pytest.fixture(autouse=True)
def _restore_threads():  # type: ignore[no-untyped-def]
    before, last = torch.get_num_threads(), threads._LAST
    yield
    torch.set_num_threads(before)
    threads._LAST = last


def test_check_threads() -> None:
    assert check_threads(3) == 3 and check_threads("2") == 2
    for bad in (0, -1, "0", "abc", "1.5", 1.0, True, None):
        with pytest.raises(ValueError, match="--threads must be an integer >= 1"):
            check_threads(bad)


def test_graph_sizes_fall_on_the_measured_sides_of_the_threshold() -> None:
    texas, cornell = graph_work(183, 295), graph_work(183, 280)  # WebKB: one thread even on free cores
    cora, pubmed = graph_work(2708, 5278), graph_work(19717, 44324)  # measured faster on two free cores
    assert texas < SMALL_GRAPH_WORK and cornell < SMALL_GRAPH_WORK
    assert cora >= SMALL_GRAPH_WORK and pubmed >= SMALL_GRAPH_WORK


def test_policy() -> None:
    small = choose_threads(1000, cores=8, busy=0.0)
    assert (small.threads, small.source) == (1, "policy") and "small graph" in small.reason
    assert choose_threads(SMALL_GRAPH_WORK, cores=4, busy=0.0).threads == 4
    assert choose_threads(SMALL_GRAPH_WORK, cores=2, busy=1.1).threads == 1  # one core kept busy by another job
    assert choose_threads(SMALL_GRAPH_WORK, cores=2, busy=5.0).threads == 1  # never below one
    assert choose_threads(None, cores=3, busy=0.2).threads == 3  # unknown size counts as large
    measured = choose_threads(10**9, cores=2)  # the load is measured when it matters
    assert measured.busy is not None and 1 <= measured.threads <= 2


def test_busy_cores_is_a_count_of_cores() -> None:
    busy = threads.busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (__import__("os").cpu_count() or 1) + 1e-6


def test_precedence() -> None:
    assert resolve_threads(3, "2", 10**9, cores=8, busy=0.0).as_record()["source"] == "--threads"
    env = resolve_threads(None, "2", 10**9, cores=8, busy=0.0)
    assert (env.threads, env.source) == (2, "OMP_NUM_THREADS")
    fallback = resolve_threads(None, "lots", 1000, cores=8, busy=0.0)  # unusable: torch ignores it, the policy decides
    assert (fallback.threads, fallback.source) == (1, "policy")
    with pytest.raises(ValueError, match="--threads"):
        resolve_threads(0)


def test_apply_sets_torch_and_remembers() -> None:
    choice = apply_threads(resolve_threads(1))
    assert torch.get_num_threads() == 1 and threads.last_choice() is choice


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_cli_refuses_bad_thread_counts_in_one_line(value, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = main(["train", "--dataset", "cora", "--epochs", "1", "--threads", value, "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.match(r"graphsparse train: error: --threads must be", err[0]), err


def test_cli_applies_and_records_the_thread_count(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    db = tmp_path / "r.db"
    # Texas (183 nodes) is below the policy's size floor: one thread whatever the load
    argv = ["train", "--dataset", "texas", "--model", "gcn", "--epochs", "2", "--seeds", "1", "--json", "--no-progress"]
    assert main([*argv, "--threads", "2", "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["threads"] == 2 and out["config"]["threads_source"] == "--threads"
    assert torch.get_num_threads() == 2
    assert main([*argv, "--db", str(db)]) == 0  # without --threads: the policy's one thread
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["threads"] == 1 and out["config"]["threads_source"] == "policy"
    with sqlite3.connect(db) as con:
        recorded = [json.loads(i) for (i,) in con.execute("SELECT invocation FROM runs ORDER BY id")]
    assert [r["torch_threads"] for r in recorded] == [2, 1]
    assert [r["thread_choice"]["source"] for r in recorded] == ["--threads", "policy"]


def test_threads_benchmark_quick(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "threads.py"
    out = tmp_path / "threads.json"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--json", "--repeats", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report == json.loads(out.read_text())
    rows = report["graphs"]["synthetic"]["rows"]
    assert [r["condition"] for r in rows] == ["idle", "busy"]
    for row in rows:
        assert row["epoch_ms_1_thread"] > 0 and row["epoch_ms_2_threads"] > 0
        assert row["faster"] in (1, 2) and row["policy_threads"] in (1, 2)  # 22,000 non-zeros: the free cores
        assert row["policy_picks_faster"] == (row["faster"] == row["policy_threads"])


def test_wait_policy_keeps_a_callers_choice_and_is_passive_once_torch_is_imported() -> None:
    environ: dict[str, str] = {}
    assert threads.choose_wait_policy(environ, busy=0.0) is False  # torch is imported here: too late for it
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}  # for the processes it starts, whatever the load
    for given in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "300000"}, {"OMP_NUM_THREADS": "1"}):
        environ = dict(given)
        threads.choose_wait_policy(environ, busy=3.0)
        assert environ == given  # the caller's choice, or one thread that never waits for another


_ENTRY = (
    "import os, subprocess, sys\n"
    "import graphsparse.threads\n"
    "graphsparse.threads.busy_cores = lambda *a, **k: {busy}  # the load main() sees at start\n"
    "from graphsparse.cli import main\n"
    "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
    "import torch\n"
    "child = [sys.executable, '-c', 'import os; print(os.environ.get(\"OMP_WAIT_POLICY\"))']\n"
    "print('child', subprocess.run(child, capture_output=True, text=True, env={{**os.environ,"
    " 'OMP_DISPLAY_ENV': 'FALSE'}}).stdout.strip())\n"
)


@pytest.mark.parametrize(("busy", "policy"), [(2.0, "PASSIVE"), (0.0, None)])
def test_the_cli_entry_chooses_the_wait_policy_from_the_load_before_torch_starts(busy, policy) -> None:
    """main() decides before torch is imported: on a busy machine the OpenMP runtime (and a child process) read
    PASSIVE; on an idle one nothing is set and the runtime keeps its default (a short spin)."""
    import os
    import subprocess
    import sys

    drop = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"  # libgomp prints the settings it started with, its spin count too
    code = _ENTRY.format(busy=busy)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"child {policy}" in proc.stdout
    if "OPENMP DISPLAY ENVIRONMENT" not in proc.stderr:
        pytest.skip("torch's OpenMP runtime does not print its settings (not libgomp)")
    # libgomp shows an unset policy as PASSIVE too; its spin count tells them apart (0: waits passively)
    spins = re.search(r"GOMP_SPINCOUNT = '(\d+)'", proc.stderr)
    assert spins, proc.stderr
    assert (int(spins.group(1)) == 0) == (policy == "PASSIVE"), proc.stderr


def test_fit_threads_lowers_the_count_on_a_busy_machine_and_raises_it_when_free() -> None:
    busy = threads.fit_threads(10**9, cores=2, busy=2.0)  # two cores, both kept busy by other processes
    assert busy.threads == 1 and torch.get_num_threads() == 1 and threads.last_choice() is busy
    free = threads.fit_threads(10**9, cores=2, busy=0.0)
    assert free.threads == 2 and torch.get_num_threads() == 2
    assert threads.fit_threads(1000, cores=2, busy=0.0).threads == 1  # a tiny graph: one thread anyway


@pytest.mark.parametrize("cores, busy, expected", [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 3.5, 1), (8, 2.2, 6)])
def test_choose_workers_counts_the_free_cores(cores, busy, expected):
    assert threads.choose_workers(cores=cores, busy=busy) == expected


def _workers_args(**given):
    import argparse

    return argparse.Namespace(**{"workers": None, "ray_address": None, **given})


@pytest.mark.parametrize(
    "free, ray_installed, expected, said",
    [(2, True, 2, "on 2 Ray workers"), (1, True, None, "serially"), (4, False, None, "Ray is not installed")],
)
def test_workers_auto_resolves_to_free_cores_or_serial(monkeypatch, capsys, free, ray_installed, expected, said):
    import importlib.util

    from graphsparse.cli import grid

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(threads, "choose_workers", lambda: free)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: object() if ray_installed and name == "ray" else (None if name == "ray" else real_find_spec(name)),
    )
    assert grid.workers_option("--workers", " 3 ") == 3
    args = _workers_args(workers=grid.workers_option("--workers", "AUTO"))
    grid.resolve_auto_workers(args)
    assert args.workers == expected
    assert said in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "many"], "--workers"),
        (["--workers", "0"], "--workers must be >= 1, got 0"),
        (["--workers", "1.5"], "--workers must be an integer >= 1 or 'auto', got '1.5'"),
        (["--workers", "auto", "--ray-address", "auto"], "--workers auto starts a local Ray"),
    ],
)
def test_workers_option_refuses_bad_values(argv, message, capsys, tmp_path):
    rc = main(["glt", "--dataset", "cora", "--db", str(tmp_path / "r.db"), *argv])
    assert rc == 2
    assert message in capsys.readouterr().err


def test_load_watch_counts_other_processes_only(monkeypatch):
    """Busy cores since the last look: the machine's busy CPU time minus this process's, over the wall time."""
    hz = __import__("os").sysconf("SC_CLK_TCK")
    clock = {"machine": 0, "own": 0.0, "wall": 0.0}
    monkeypatch.setattr(threads, "_cpu_times", lambda: (clock["machine"], 10**9))
    monkeypatch.setattr(threads.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["wall"])
    watch = threads.LoadWatch()
    clock.update(machine=int(0.5 * hz), own=0.2, wall=0.5)
    assert watch.busy() is None  # too short a stretch: measured later from the same start
    clock.update(machine=int(5.0 * hz), own=2.0, wall=2.0)  # 5 busy CPU-seconds in 2 s, 2 of them ours
    assert watch.busy() == pytest.approx(1.5)
    clock.update(machine=int(7.0 * hz), own=4.0, wall=4.0)  # only our own work since
    assert watch.busy() == pytest.approx(0.0)


class _Watch:
    def __init__(self, *values):
        self.values = list(values)

    def busy(self):
        return self.values.pop(0)


def test_refit_threads_follows_the_load_only_for_the_policy():
    before = torch.get_num_threads()
    try:
        threads.apply_threads(threads.ThreadChoice(2, "policy", "start", 10**7, 2, 0.0))
        assert threads.refit_threads(_Watch(1.6)).threads == 1 and torch.get_num_threads() == 1
        assert threads.refit_threads(_Watch(0.7)) is None  # still one core busy: no change
        assert threads.refit_threads(_Watch(0.1)).threads == 2 and torch.get_num_threads() == 2
        assert threads.refit_threads(_Watch(None)) is None
        threads.apply_threads(threads.ThreadChoice(2, "--threads", "given"))
        assert threads.refit_threads(_Watch(1.9)) is None and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_serial_executor_refits_between_units(monkeypatch):
    from graphsparse.parallel import SerialExecutor

    calls = []
    monkeypatch.setattr(threads, "refit_threads", lambda watch: calls.append(watch) or None)
    executor = SerialExecutor()
    handles = [executor.submit(lambda i: i * i, i) for i in range(3)]
    assert [value for _, value in executor.as_completed(handles)] == [0, 1, 4]
    assert len(calls) == 3 and len({id(w) for w in calls}) == 1  # one watch, a look before each unit


def test_interruptible_finds_a_signal_exception_wrapped_twice():
    """Ray's Cython wait wraps a signal handler's exception in SystemError, twice when a second signal arrives
    while the first is handled: the command's Terminated comes out as itself either way."""
    from graphsparse.cli import Terminated
    from graphsparse.parallel import _interruptible

    def wrapped(depth):
        def call():
            error: BaseException = Terminated(15)
            for _ in range(depth):
                outer = SystemError("returned a result with an exception set")
                outer.__cause__ = error
                error = outer
            raise error

        return call

    for depth in (1, 2):
        with pytest.raises(Terminated):
            _interruptible(wrapped(depth))
    with pytest.raises(SystemError):  # a SystemError of another cause stays one
        _interruptible(lambda: (_ for _ in ()).throw(SystemError("other")))
