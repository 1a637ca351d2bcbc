"""Parallel GLT searches and seed grids (graphsparse.parallel, Ray): identical to serial runs, resumable, robust
to killed workers and drivers, and runnable on a two-node test cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from graphsparse.experiments import ResultsStore
from graphsparse.nn import build_model
from graphsparse.parallel import RayExecutor, SerialExecutor, make_executor
from graphsparse.sparsify import Teddy
from graphsparse.sparsify.search import glt_levels, glt_search
from graphsparse.tasks.node import NodeTrainConfig

ray = pytest.importorskip("ray")  # in the dev extra: `make install` always has it

# bag-of-words features as CSR (the 512-wide presets' setting): the same protocol at a fraction of the dense cost
CONFIG = NodeTrainConfig(epochs=30, lr=0.01, weight_decay=5e-4, normalize_features=True, sparse_features=True)
METHODS = (Teddy(distill=1.0), "ugs", "random")  # TEDDY levels wait for their seed's dense teacher unit
LEVELS = glt_levels(2, 0.2, 0.3)
SEEDS = (0, 1)
ROOT = Path(__file__).resolve().parents[1]


def factory_for(graph):
    def factory():
        return build_model("gcn", graph.num_features, graph.num_classes, hidden_channels=16)

    return factory


def search(graph, executor=None, store=None, **kwargs):
    return list(
        glt_search(
            graph,
            factory_for(graph),
            methods=METHODS,
            levels=LEVELS,
            seeds=SEEDS,
            config=CONFIG,
            store=store,
            executor=executor,
            **kwargs,
        )
    )


def comparable(results):
    keep = ("method", "round", "test_scores", "val_mean", "graph_sparsity", "weight_sparsity", "states", "key")
    return [{k: getattr(r, k) for k in keep} for r in results]


@pytest.fixture(scope="session")  # the Ray group's tests may run between other modules' tests on their worker
def serial_reference(cora):
    return comparable(search(cora))


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray (2 worker slots) for the tests of this module that share it."""
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, logging_level="ERROR")
    yield
    ray.shutdown()


def test_serial_executor_is_lazy_and_resolves_dependencies():
    calls = []

    def square(x):
        calls.append(x)
        return x * x

    ex = SerialExecutor()
    first = ex.submit(square, 3)
    second = ex.submit(square, first)  # a handle argument receives the value
    assert calls == []  # nothing runs before a result is read
    assert [v for _, v in ex.as_completed([first, second])] == [9, 81]
    assert calls == [3, 9]


def test_make_executor_refuses_bad_workers():
    assert isinstance(make_executor(), SerialExecutor)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="workers must be an int >= 1"):
            make_executor(bad)


@pytest.mark.integration  # Ray
def test_parallel_search_identical_to_serial(cora, serial_reference, local_ray, tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    with RayExecutor(workers=2) as ex:
        results = search(cora, ex, store)
    assert comparable(results) == serial_reference
    assert [r.method for r in results] == ["dense"] + ["teddy"] * 2 + ["ugs"] * 2 + ["random"] * 2
    assert not any(r.cached for r in results)
    # the driver committed every level and removed the per-seed parts once their level was whole
    assert len(store.keys()) == 7 and store.part_keys() == []
    with RayExecutor(workers=2) as ex:  # a rerun loads every level: nothing is submitted
        again = search(cora, ex, store)
    assert all(r.cached for r in again) and comparable(again) == serial_reference


def _kill_first_task_process(marker: str, killed: list[int], stop: threading.Event) -> None:
    import psutil

    while not stop.is_set() and not killed:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if marker in cmdline:
                try:
                    proc.send_signal(signal.SIGKILL)
                except psutil.Error:
                    continue
                killed.append(proc.info["pid"])
                return
        time.sleep(0.02)


@pytest.mark.integration  # Ray
def test_worker_killed_mid_task_is_retried(cora, serial_reference, local_ray):
    """A worker process killed while it trains a unit: Ray runs the unit again, the search completes with the
    same numbers."""
    killed: list[int] = []
    stop = threading.Event()
    # a worker's process title names the function it runs (ray::_run_on_worker) while it runs a task
    killer = threading.Thread(target=_kill_first_task_process, args=("ray::_run_on_worker", killed, stop))
    killer.start()
    try:
        with RayExecutor(workers=2) as ex:
            results = search(cora, ex)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was seen running a unit"
    assert comparable(results) == serial_reference


def test_interrupted_serial_search_resumes_from_seed_parts(cora, serial_reference, tmp_path):
    """Interrupted after some seeds of a level: the rerun loads the stored seeds (parts) and trains only the
    rest; the numbers are the uninterrupted ones."""
    from graphsparse.tasks.glt import NodeGLTTask

    class CountingTask(NodeGLTTask):
        fits = 0
        limit = None

        def fit(self, *args, **kwargs):
            if CountingTask.limit is not None and CountingTask.fits >= CountingTask.limit:
                raise KeyboardInterrupt
            CountingTask.fits += 1
            return super().fit(*args, **kwargs)

    store = ResultsStore(tmp_path / "r.db")
    CountingTask.limit = 3  # dense (2 fits, the teachers too), TEDDY round 1 seed 0: then stop
    with pytest.raises(KeyboardInterrupt):
        search(cora, store=store, task=CountingTask(cora, CONFIG))
    parts = store.part_keys()
    assert len(parts) == 1 and "|teddy|round=1|" in parts[0] and not any("|teddy|" in k for k in store.keys())
    CountingTask.fits, CountingTask.limit = 0, None
    results = search(cora, store=store, task=CountingTask(cora, CONFIG))
    assert comparable(results) == serial_reference
    # 2 teachers + 1 TEDDY seed + 2 TEDDY seeds + UGS 2 rounds x 2 seeds x 2 fits + 4 random: the stored dense
    # level and the stored TEDDY seed were not trained again
    assert CountingTask.fits == 2 + 1 + 2 + 8 + 4
    assert results[0].cached and not results[1].cached


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphsparse.cli", *args]


def _ray_leftovers(temp_root: str) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if temp_root in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _created(db: Path) -> dict[str, float]:
    """When each stored unit was committed, by key (a unit trained again gets a new time)."""
    import sqlite3

    with closing(sqlite3.connect(db)) as con:
        return dict(con.execute("SELECT key, created FROM results"))


def _start_and_wait(command, env, store, units):
    """Start the command; return it once ``units`` keys are committed (it must still be running)."""
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None and len(store.keys()) < units:
        time.sleep(0.2)
    assert driver.poll() is None, f"the search ended before it could be stopped: {driver.communicate()[1][-2000:]}"
    return driver


@pytest.mark.integration  # Ray
def test_terminated_or_killed_driver_resumes(tmp_path, capsys):
    """``graphsparse glt --workers 2`` terminated (SIGTERM: one line, status 143, workers shut down), rerun and
    killed (SIGKILL) after more committed units: the Ray rerun loaded what the first run stored, and a last
    (serial) rerun loads both runs' units and finishes with an uninterrupted run's numbers."""
    from graphsparse.cli import main

    common = (
        "glt --dataset cora --method teddy,random --rounds 3 --seeds 2 --epochs 30 --preset paper --distill 0 "
        "--no-progress --json --threads 1"
    ).split()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # the reference and the last rerun in this process (one thread, as the workers); the Ray runs need processes
    assert main([*common, "--db", str(tmp_path / "serial.db"), "--plot", str(tmp_path / "s.png")]) == 0
    want = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    db = tmp_path / "parallel.db"
    temp_root = tempfile.mkdtemp(prefix="gsray", dir="/tmp")  # short: Ray's socket paths live under it
    env_ray = dict(env, RAY_TMPDIR=temp_root)
    command = _cli(*common, "--db", str(db), "--plot", str(tmp_path / "p.png"), "--workers", "2")
    store = ResultsStore(db)
    try:
        driver = _start_and_wait(command, env_ray, store, 1)
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=120)
        assert driver.returncode == 143, err[-2000:]
        assert "terminated:" in err and "rerun the same command to resume" in err and "Traceback" not in err
        deadline = time.monotonic() + 10
        while [p for p in _ray_leftovers(temp_root) if p.is_running()] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in _ray_leftovers(temp_root) if p.is_running()], "Ray outlived a terminated command"
        before = _created(db)
        driver = _start_and_wait(command, env_ray, store, len(before) + 2)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
        for proc in _ray_leftovers(temp_root):  # Ray's agents outlive a SIGKILLed driver: clean them up
            try:
                proc.kill()
            except Exception:
                pass
    stored = _created(db)
    assert set(before) < set(stored) and len(stored) < 7  # the Ray rerun added units, and was killed before the end
    assert all(stored[key] == created for key, created in before.items())  # it loaded the first run's units
    assert main([*common, "--db", str(db), "--plot", str(tmp_path / "p.png")]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [lv["test_accs"] for lv in got["levels"]] == [lv["test_accs"] for lv in want["levels"]]
    assert got["dense"]["test_acc_mean"] == want["dense"]["test_acc_mean"]
    assert len(ResultsStore(db).units("glt|")) == 7 and ResultsStore(db).part_keys() == []
    assert all(_created(db)[key] == created for key, created in stored.items())  # loaded, not trained again


@pytest.mark.integration  # Ray
def test_two_node_cluster_runs_a_grid(tmp_path, capsys):
    """A grid (2 models x 2 seeds on Cora) through ``--ray-address`` on Ray's local two-node test cluster: the
    same numbers as the serial grid, in the grid's order."""
    from ray.cluster_utils import Cluster

    from graphsparse.cli import main

    common = ["train", "--dataset", "cora", "--model", "gcn,sage", "--seeds", "2", "--epochs", "20"]
    common += ["--no-progress", "--json"]
    assert main([*common, "--db", str(tmp_path / "serial.db")]) == 0
    serial = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    if ray.is_initialized():  # this module's local Ray: a driver joins one Ray at a time
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="ERROR")
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        assert main([*common, "--db", str(tmp_path / "cluster.db"), "--ray-address", cluster.address]) == 0
        parallel = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert [(d["dataset"], d["model"]) for d in parallel] == [("cora", "gcn"), ("cora", "sage")]
    for a, b in zip(serial, parallel):
        assert [r["test_acc"] for r in a["runs"]] == [r["test_acc"] for r in b["runs"]]
    stored = ResultsStore(tmp_path / "cluster.db").runs()
    assert len(stored) == 4 and all(r["invocation"]["parallel"]["executor"] == "ray" for r in stored)


def test_serial_commands_never_import_ray(tmp_path):
    code = (
        "import sys; from graphsparse.cli import main; "
        f"rc = main(['glt', '--dataset', 'cora', '--rounds', '1', '--seeds', '1', '--epochs', '2', '--distill', "
        f"'0', '--db', r'{tmp_path / 'r.db'}', '--plot', r'{tmp_path / 'p.png'}', '--no-progress']); "
        "assert rc == 0; assert 'ray' not in sys.modules, 'ray imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--dataset", "cora", "--workers", "0"], "--workers must be"),
        (["train", "--dataset", "cora", "--augment", "gaug-m", "--workers", "2"], "--workers applies to"),
        (["train", "--dataset", "cora,cora"], "cora listed twice"),
        (["train", "--dataset", "cora,nope", "--model", "gcn"], "unknown dataset 'nope'"),
        (["glt", "--dataset", "cora,citeseer", "--plot", "x.png"], "--plot names one file"),
        (["glt", "--dataset", "cora", "--ray-address", " "], "--ray-address must be"),
        (["train", "--dataset", "cora", "--model", "gcn,magic"], "invalid choice"),
    ],
)
def test_grid_and_worker_options_fail_clearly(argv, message, capsys, tmp_path):
    from graphsparse.cli import main

    try:
        status = main([*argv, "--db", str(tmp_path / "r.db")])
    except SystemExit as stop:  # argparse's own refusals (an unknown choice)
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
