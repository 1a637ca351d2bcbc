"""Hostile input to the command and the configs: one clear error, never a traceback, and nothing
finished lost.

- preflight: every output (results database, ``--plot``) is checked before the first epoch; a bad one is exit 2
  with one stderr line naming the path (root-proof cases: tests may run as root, which ignores permission bits);
- numbers: non-finite or out-of-range hyperparameters are refused by the CLI and by every Python config; NaN is
  never stored;
- signals and pipes: SIGINT/SIGTERM end with one line saying what is stored (exit 130/143) and a rerun resumes;
  a closed stdout pipe ends quietly; devices that cannot train are refused.

Signals and pipes run the console script in a subprocess; the rest calls :func:`graphsparse.cli.main` in process.
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from graphsparse.cli import main
from graphsparse.experiments.store import ResultsStore

SCRIPT = str(Path(sys.executable).parent / "graphsparse")
NAN, INF = float("nan"), float("inf")
# a tiny GLT search: one seed, 5 epochs per level, 16-wide GCN, TEDDY without distillation
TINY_GLT = [
    "glt",
    "--dataset",
    "cora",
    "--preset",
    "none",
    "--hidden",
    "16",
    "--method",
    "teddy",
    "--distill",
    "0",
    "--epochs",
    "5",
    "--seeds",
    "1",
    "--no-progress",
]
TINY_TRAIN = [
    "train",
    "--dataset",
    "cora",
    "--preset",
    "none",
    "--hidden",
    "8",
    "--epochs",
    "2",
    "--seeds",
    "2",
    "--no-progress",
]


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def _one_error_line(err: str, command: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"graphsparse {command}: error: "), lines[0]
    return lines[0]


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if a command gets as far as loading its dataset (preflight must refuse before)."""
    import graphsparse.data

    def refuse(*args, **kwargs):
        raise AssertionError("the dataset was loaded: the bad output was not refused before the work")

    monkeypatch.setattr(graphsparse.data, "load_dataset", refuse)


# ----------------------------------------------------------------------------------------------------- preflight


@pytest.mark.parametrize("command", ["train", "glt"])
def test_database_path_that_is_a_folder_is_refused_before_work(tmp_path, capsys, no_loading, command):
    extra = ["--plot", str(tmp_path / "p.png")] if command == "glt" else []
    assert main([*(TINY_TRAIN if command == "train" else TINY_GLT), "--db", str(tmp_path), *extra]) == 2
    line = _one_error_line(capsys.readouterr().err, command)
    assert str(tmp_path) in line and "folder" in line


@pytest.mark.parametrize("command", ["train", "glt"])
def test_database_whose_parent_is_a_file_is_refused_before_work(tmp_path, capsys, no_loading, command):
    (tmp_path / "afile").write_text("x")
    base = TINY_TRAIN if command == "train" else TINY_GLT
    assert main([*base, "--db", str(tmp_path / "afile" / "g.db")]) == 2
    line = _one_error_line(capsys.readouterr().err, command)
    assert "afile" in line and "not a folder" in line


def test_database_that_is_not_sqlite_is_refused_before_work(tmp_path, capsys, no_loading):
    db = tmp_path / "notes.db"
    db.write_text("not a database\n" * 100)
    assert main([*TINY_TRAIN, "--db", str(db)]) == 2
    assert str(db) in _one_error_line(capsys.readouterr().err, "train")


def test_read_only_database_is_refused_before_any_training(tmp_path, capsys, monkeypatch, no_loading):
    """A database sqlite opens read-only (a read-only file, folder or file system) fails its write check before
    any seed trains; simulated by opening it read-only (root ignores chmod)."""
    db = tmp_path / "g.db"
    ResultsStore(db)

    def read_only(self):
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    monkeypatch.setattr(ResultsStore, "_connect", read_only)
    assert main([*TINY_TRAIN, "--db", str(db)]) == 2
    line = _one_error_line(capsys.readouterr().err, "train")
    assert str(db) in line and "not writable" in line


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permission bits")
def test_chmod_read_only_database_and_folder_are_refused(tmp_path, capsys, no_loading):
    db = tmp_path / "g.db"
    ResultsStore(db).put("k", {"x": 1})
    db.chmod(0o444)
    assert main([*TINY_TRAIN, "--db", str(db)]) == 2
    _one_error_line(capsys.readouterr().err, "train")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main([*TINY_GLT, "--db", str(tmp_path / "ok.db"), "--plot", str(folder / "p.png")]) == 2
        _one_error_line(capsys.readouterr().err, "glt")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    ("plot", "words"),
    [
        ("afile/p.png", ("afile", "not a folder")),
        ("p.xyz", ("p.xyz", ".xyz")),
        ("p", ("no image suffix",)),
        ("adir", ("adir",)),
    ],
)
def test_bad_plot_path_is_refused_before_the_search(tmp_path, capsys, no_loading, plot, words):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.png").mkdir()
    (tmp_path / "adir").mkdir()
    db = tmp_path / "g.db"
    target = tmp_path / ("adir.png" if plot == "adir" else plot)
    assert main([*TINY_GLT, "--db", str(db), "--plot", str(target)]) == 2
    line = _one_error_line(capsys.readouterr().err, "glt")
    for word in words:
        assert word in line
    assert not db.exists() or ResultsStore(db).keys() == []


def test_preflight_helpers(tmp_path):
    from graphsparse.cli.preflight import PreflightError, check_output_file, check_output_folder, check_plot_path

    (tmp_path / "f").write_text("x")
    assert check_output_file(tmp_path / "new" / "out.json") == tmp_path / "new" / "out.json"
    assert check_output_folder(tmp_path / "tickets").is_dir()
    assert check_plot_path(tmp_path / "plot.PDF").suffix == ".PDF"
    for bad in (
        lambda: check_output_file(tmp_path),
        lambda: check_output_folder(tmp_path / "f"),
        lambda: check_output_folder(tmp_path / "f" / "sub"),
        lambda: check_plot_path(tmp_path / "x.doc"),
    ):
        with pytest.raises(PreflightError):
            bad()
    assert not list(tmp_path.glob("**/.graphsparse-write-check-*"))  # the probe leaves nothing behind


def test_distributed_out_folder_is_checked_before_training(tmp_path, capsys):
    from graphsparse.cli.distributed import main as distributed_main

    (tmp_path / "afile").write_text("x")
    assert distributed_main(["--dataset", "cora", "--out", str(tmp_path / "afile")]) == 2
    assert "afile" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "extra",
    [
        ["--weight-decay", "nan"],
        ["--lr", "inf"],
        ["--lr=-inf"],
        ["--lr", "0"],
        ["--dropout", "nan"],
        ["--dropout", "1"],
        ["--hidden", "0"],
        ["--epochs", "-1"],
        ["--seeds", "0"],
        ["--layers", "0"],
    ],
)
def test_train_refuses_bad_numbers_before_work(capsys, no_loading, extra, tmp_path):
    assert main([*TINY_TRAIN, "--db", str(tmp_path / "g.db"), *extra]) == 2
    assert extra[0].split("=")[0] in _one_error_line(capsys.readouterr().err, "train")


@pytest.mark.parametrize(
    "extra",
    [
        ["--method", "ugs", "--s1", "nan"],
        ["--method", "ugs", "--s2", "inf"],
        ["--method", "wd-glt", "--wd-lambda", "nan"],
        ["--pg", "nan"],
        ["--pw", "1"],
        ["--distill", "inf"],
        ["--rounds", "0"],
    ],
)
def test_glt_refuses_bad_numbers_before_work(capsys, no_loading, extra, tmp_path):
    argv = TINY_GLT
    if "--method" in extra:  # another method: without TEDDY's --distill, which only applies to teddy
        drop = {TINY_GLT.index(a) for a in ("--method", "--distill")}
        argv = [a for i, a in enumerate(TINY_GLT) if not drop & {i, i - 1}]
    assert main([*argv, "--db", str(tmp_path / "g.db"), *extra]) == 2
    line = _one_error_line(capsys.readouterr().err, "glt")
    assert next(a for a in extra if a.startswith("--") and a != "--method") in line  # the error names the option


def test_gaug_options_refuse_non_finite(capsys, tmp_path):
    for gaug in ("rm_pct=inf", "ep_draws=inf", "ep_hidden=0"):
        code = main(
            [
                "train",
                "--dataset",
                "cora",
                "--augment",
                "gaug-m",
                "--gaug",
                gaug,
                "--epochs",
                "1",
                "--seeds",
                "1",
                "--no-progress",
                "--db",
                str(tmp_path / "g.db"),
            ]
        )
        assert code == 2, gaug
        _one_error_line(capsys.readouterr().err, "train")
    code = main(
        [
            "train",
            "--dataset",
            "cora",
            "--augment",
            "gaug-o",
            "--gaug",
            "temperature=nan",
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--no-progress",
            "--db",
            str(tmp_path / "g.db"),
        ]
    )
    assert code == 2
    assert "temperature" in _one_error_line(capsys.readouterr().err, "train")


def _configs():
    from graphsparse.augment.gaug_o import GAugOConfig
    from graphsparse.batching import ClusterConfig
    from graphsparse.tasks.link import LinkTrainConfig
    from graphsparse.tasks.node import NodeTrainConfig

    cases = []
    for field in ("lr", "weight_decay"):
        for value in (NAN, INF, -INF):
            cases.append((NodeTrainConfig, {field: value}))
            cases.append((LinkTrainConfig, {field: value}))
            cases.append((GAugOConfig, {field: value}))
    cases += [
        (NodeTrainConfig, {"epochs": NAN}),
        (NodeTrainConfig, {"patience": INF}),
        (LinkTrainConfig, {"epochs": 0}),
        (ClusterConfig, {"num_parts": NAN}),
        (ClusterConfig, {"clusters_per_batch": 0}),
        (ClusterConfig, {"eval_every": INF}),
    ]
    for field in ("alpha", "beta", "temperature", "warmup", "candidate_ratio"):
        cases += [(GAugOConfig, {field: NAN}), (GAugOConfig, {field: INF})]
    cases += [(GAugOConfig, {"ep_hidden": 0}), (GAugOConfig, {"epochs": NAN}), (GAugOConfig, {"pretrain_ep": INF})]
    return cases


@pytest.mark.parametrize(("config", "options"), _configs(), ids=lambda v: getattr(v, "__name__", repr(v)))
def test_python_configs_refuse_non_finite_values(config, options):
    with pytest.raises(ValueError, match=next(iter(options))):
        config(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"lam": INF},
        {"lam": NAN},
        {"alpha": NAN},
        {"alpha": INF},
        {"tau": INF},
        {"T": NAN},
        {"steps": 0},
        {"dropout": NAN},
    ],
)
def test_twirls_refuses_non_finite_options(options):
    from graphsparse.nn import TWIRLS

    with pytest.raises(ValueError):
        TWIRLS(4, 8, 3, **options)


@pytest.mark.parametrize("model", ["gcn", "mlp", "twirls", "sage"])
@pytest.mark.parametrize(
    "options",
    [
        {"hidden_channels": 0},
        {"hidden_channels": NAN},
        {"hidden_channels": 1.5},
        {"num_layers": 0},
        {"dropout": 1.0},
        {"dropout": NAN},
        {"dropout": -0.1},
    ],
)
def test_build_model_refuses_bad_sizes_and_rates(model, options):
    from graphsparse.nn import build_model

    if model == "twirls" and "num_layers" in options:
        pytest.skip("TWIRLS has no num_layers")
    with pytest.raises(ValueError):
        build_model(model, 8, 3, **options)


def test_glt_search_and_ugs_refuse_non_finite_coefficients():
    from graphsparse.graph import Graph
    from graphsparse.nn import build_model
    from graphsparse.sparsify import UGS, WDGLT, Teddy
    from graphsparse.sparsify.methods.ugs import UGSMasked
    from graphsparse.sparsify.search import glt_levels, glt_search

    graph = Graph(torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=4, x=torch.randn(4, 3), y=torch.tensor([0, 1, 0, 1]))
    levels = glt_levels(1, 0.05, 0.2)
    # a method's options are checked when it is built: a search never starts with them
    for cls, options in (
        (UGS, {"s1": NAN}),
        (UGS, {"s2": INF}),
        (UGS, {"s1": -1.0}),
        (Teddy, {"distill": NAN}),
        (Teddy, {"distill": INF}),
        (WDGLT, {"wd_lambda": NAN}),
        (WDGLT, {"wd_eps": INF}),
    ):
        with pytest.raises(ValueError, match=next(iter(options))):
            cls(**options)
    with pytest.raises(TypeError):  # the options are the methods', not the search's
        next(glt_search(graph, lambda: build_model("gcn", 3, 2), methods=["ugs"], levels=levels, s1=NAN))
    for pg in (NAN, INF, 1.0):
        with pytest.raises(ValueError):
            glt_levels(3, pg, 0.2)
    for s1, s2 in ((NAN, 0.0), (0.0, INF)):
        with pytest.raises(ValueError, match="finite"):
            UGSMasked(build_model("gcn", 3, 2), graph.num_edges, s1=s1, s2=s2)


def test_gaug_m_percentages_refuse_non_finite():
    from graphsparse.augment.gaug_m import edit_counts
    from graphsparse.graph import Graph

    graph = Graph(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    for rm, add in ((INF, 0), (0, NAN), (-INF, 0), (True, 0)):
        with pytest.raises(ValueError):
            edit_counts(graph, rm, add)


def test_results_store_never_stores_nan(tmp_path):
    store = ResultsStore(tmp_path / "g.db")
    for metrics in ({"test_acc": NAN}, {"val_acc": INF}, {"test_acc": 0.8, "per_seed": [0.8, NAN]}):
        with pytest.raises(ValueError, match="non-finite"):
            store.record_run("node", "cora", "gcn", 0, {}, metrics)
    with pytest.raises(ValueError, match="test_acc_mean"):
        store.put("k", {"test_acc_mean": NAN, "seeds": [0]})
    with pytest.raises(ValueError, match="non-finite"):
        store.put("k", {"levels": [{"acc": -INF}]})
    assert store.runs() == [] and store.keys() == []
    store.record_run("node", "cora", "gcn", 0, {"lr": 0.01}, {"test_acc": 0.8, "best_epoch": 3})
    assert len(store.runs()) == 1


# --------------------------------------------------------------------------------------------- devices, signals


@pytest.mark.parametrize("device", ["meta", "mps", "cuda:99", "xla", "gpu", "cuda:-1"])
def test_devices_that_cannot_train_are_refused(capsys, no_loading, device, tmp_path):
    if device == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    if device == "cuda:99" and torch.cuda.device_count() > 99:
        pytest.skip("this machine has 100 GPUs")
    assert main([*TINY_TRAIN, "--db", str(tmp_path / "g.db"), "--device", device]) == 2
    assert device.split(":")[0] in _one_error_line(capsys.readouterr().err, "train")


@pytest.mark.parametrize(
    ("exception", "code", "word"), [("interrupt", 130, "interrupted"), ("terminate", 143, "terminated")]
)
def test_interrupted_train_keeps_finished_runs(tmp_path, capsys, monkeypatch, exception, code, word):
    """The signal arrives right after the first seed's run was stored: exit 130/143, one line naming what is
    stored, the stored run still there."""
    from graphsparse.cli import Terminated

    db = tmp_path / "g.db"
    record = ResultsStore.record_run

    def record_then_stop(self, *args, **kwargs):
        record(self, *args, **kwargs)
        raise KeyboardInterrupt if exception == "interrupt" else Terminated(signal.SIGTERM)

    monkeypatch.setattr(ResultsStore, "record_run", record_then_stop)
    assert main([*TINY_TRAIN, "--db", str(db)]) == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"graphsparse train: {word}: 1 run is stored in {db}")
    assert len(ResultsStore(db).runs()) == 1


def _wait_for_levels(db: Path, proc: subprocess.Popen, n: int, timeout: float = 240.0) -> int:
    """Poll the results database until ``n`` TEDDY levels are committed (or the process ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db, timeout=1) as con:
                count = con.execute("SELECT COUNT(*) FROM results WHERE key LIKE '%|teddy|%'").fetchone()[0]
        except sqlite3.Error:
            count = 0
        if count >= n:
            return count
        time.sleep(0.05)
    raise AssertionError(f"no {n} stored level(s) before the process ended: {proc.communicate()}")


def _created(db: Path) -> dict[str, float]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT key, created FROM results"))


@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_signal_during_glt_keeps_finished_levels_and_rerun_resumes(tmp_path, signum, code, word):
    db, plot = tmp_path / "g.db", tmp_path / "glt.png"
    # 40 epochs a level: the 5 levels left take seconds, so the signal lands mid-search (at 5 epochs a level the
    # whole search could finish between the poll that sees level 1 and the signal)
    argv = [SCRIPT, *TINY_GLT, "--epochs", "40", "--rounds", "6", "--db", str(db), "--plot", str(plot)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    _wait_for_levels(db, proc, 1)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    stored = _created(db)
    assert len(stored) >= 2  # the dense baseline and at least one level, committed before the signal
    assert lines[0].startswith(f"graphsparse glt: {word}: {len(stored)} levels are stored in {db}"), lines[0]
    assert "rerun the same command to resume" in lines[0]
    if signum != signal.SIGINT:
        return
    # the rerun loads what is stored (marked cached, not rewritten) and finishes the rest
    rerun = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    cached = [line for line in rerun.stdout.splitlines() if line.endswith("(cached)")]
    assert len(cached) == len(stored), rerun.stdout
    after = _created(db)
    assert len(after) == 7 and all(after[key] == created for key, created in stored.items())
    assert plot.is_file()


def test_closed_stdout_pipe_is_quiet():
    """The reader of stdout went away before the command wrote: no BrokenPipeError, exit 141 like SIGPIPE."""
    proc = subprocess.Popen(
        [SCRIPT, "datasets", "--no-load"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
    )
    proc.stdout.close()  # the read end is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "", err
    assert proc.returncode == 141


def test_datasets_piped_into_head_prints_no_traceback():
    result = subprocess.run(
        f"'{SCRIPT}' datasets --no-load | head -1", shell=True, capture_output=True, text=True, env=_env(), timeout=120
    )
    assert result.stderr == "", result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_non_finite_store_error_is_one_line(tmp_path, capsys, monkeypatch):
    """A NaN reaching the store (a diverged evaluation) is one error line, and nothing is stored."""
    import graphsparse.cli.node_setup as node_setup

    real = node_setup.record_node_run

    def nan_scores(store, kind, graph, model, row, metric, config, **options):
        real(store, kind, graph, model, {**row, "test_acc": math.nan}, metric, config, **options)

    monkeypatch.setattr(node_setup, "record_node_run", nan_scores)
    import graphsparse.cli.train_node as train_cli  # where the full-batch path imported it

    monkeypatch.setattr(train_cli, "record_node_run", nan_scores)
    db = tmp_path / "g.db"
    assert main([*TINY_TRAIN, "--db", str(db)]) == 2
    assert "non-finite" in _one_error_line(capsys.readouterr().err, "train")
    assert ResultsStore(db).runs() == []


def test_weight_decay_beyond_float32_is_refused_before_training(capsys, tmp_path):
    assert main([*TINY_TRAIN, "--db", str(tmp_path / "g.db"), "--weight-decay", "1e300"]) == 2
    assert "weight_decay" in _one_error_line(capsys.readouterr().err, "train")
    assert ResultsStore(tmp_path / "g.db").runs() == []


def _reliability_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "reliability.py"
    spec = importlib.util.spec_from_file_location("graphsparse_reliability", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_reliability_script_runs_a_subset_of_its_cases(tmp_path):
    """benchmarks/reliability.py (which writes docs/reliability.md) keeps working: a few cases of each category
    run and classify as expected, and the report renders with its counts."""
    rel = _reliability_module()
    wanted = {
        "train --lr nan",
        "glt --method ugs --s1 nan",
        "train --db <a folder>",
        "glt --plot p.xyz",
        "GAugOConfig(temperature=nan)",
        "label 10^9",
        "graph without edges: train gcn",
        "texas: texas_split_0.6_0.2_7.npz deleted",
        "Ctrl-C after train's 1st seed",
    }
    cases = [case for case in rel.all_cases(quick=True) if case.input in wanted]
    assert {case.input for case in cases} == wanted
    rows = rel.run_cases(cases, verbose=False)
    outcomes = {row.case.input: row.outcome for row in rows}
    assert outcomes["graph without edges: train gcn"] == "works"
    assert outcomes["Ctrl-C after train's 1st seed"] == "kept"
    for text in wanted - {"graph without edges: train gcn", "Ctrl-C after train's 1st seed"}:
        assert outcomes[text] == "clear error", (text, [r.detail for r in rows if r.case.input == text])
    report = rel.render(rows, 1.0)
    assert "| tried | clear errors |" in report and f"| {len(rows)} | " in report
    assert len(rel.all_cases()) >= 100
