"""graphsparse tune: the objective never reads test labels, studies resume and take several workers, spaces are
data, bad input is one line."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import torch

from graphsparse.cli import main
from graphsparse.data import load_dataset
from graphsparse.train import Validation, fit
from graphsparse.tuning import (
    UNLABELLED,
    build_setup,
    space_for,
    storage_url,
    tune,
    tuning_graph,
)

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cora():
    return load_dataset("cora")


def _with_test_labels(graph, labels):
    split = graph.split("public")
    y = graph.y.clone()
    y[split.test] = labels[split.test]
    return graph.replace(y=y)


EPOCHS = 6
SMALL = {"hidden_channels": 16}  # a narrow GCN keeps the studies fast; the other three parameters are searched


def _small_gcn_setup(graph, epochs=EPOCHS):
    return build_setup("gcn", "gcn", graph.name, "public", train={"epochs": epochs})


# ---------------------------------------------------------------------------------------------- the tuning graph
def test_tuning_graph_holds_no_test_labels(cora):
    hidden = tuning_graph(cora)
    public = cora.split("public")
    assert list(hidden.splits) == ["public"]
    split = hidden.split("public")
    assert not split.test.any()
    assert torch.equal(split.train, public.train) and torch.equal(split.val, public.val)
    known = public.train | public.val
    assert torch.equal(hidden.y[known], cora.y[known])
    assert bool((hidden.y[~known] == UNLABELLED).all())  # test nodes and nodes of no part: no label
    assert torch.equal(hidden.edges, cora.edges) and torch.equal(hidden.x, cora.x)


def test_tuning_graph_refuses_a_split_without_validation(cora):
    public = cora.split("public")
    graph = cora.replace(splits={"only": (public.train, torch.zeros_like(public.val), public.test)})
    with pytest.raises(Exception, match="no validation nodes"):
        tuning_graph(graph)


def test_same_study_chooses_the_same_parameters_with_random_test_labels(cora, tmp_path):
    """Honest tuning: replace every test label by a random one, rerun the same study (same
    sampler seed): every trial's value and the chosen parameters are identical, while the final test accuracy
    (read once, after the choice) does change — so the test labels matter to the score but not to the choice."""
    generator = torch.Generator().manual_seed(1)
    random = torch.randint(0, cora.num_classes, (cora.num_nodes,), generator=generator)
    shuffled = _with_test_labels(cora, random)
    assert (shuffled.y != cora.y).sum() > 800  # most of the 1000 test labels changed
    space = space_for("gcn", SMALL)
    outcomes = []
    for i, graph in enumerate((cora, shuffled)):
        storage = f"sqlite:///{tmp_path / f'study{i}.db'}"
        setup = _small_gcn_setup(graph)
        summary = tune(
            setup, graph, space, trials=6, trial_seeds=1, seeds=1, storage=storage, study_name="s", progress=False
        )
        study = optuna.load_study(study_name="s", storage=storage)
        values = [t.value for t in study.trials]
        curves = [t.intermediate_values for t in study.trials]
        outcomes.append((summary, values, curves))
    (first, values0, curves0), (second, values1, curves1) = outcomes
    assert first["chosen"] == second["chosen"]
    assert values0 == values1 and curves0 == curves1
    complete = [t for t in optuna.load_study(study_name="s", storage=storage).trials if t.state.name == "COMPLETE"]
    assert complete and all(len(t.intermediate_values) == EPOCHS for t in complete)  # the pruner saw every epoch
    assert first["val_acc_mean"] == second["val_acc_mean"]
    assert first["test_acc_mean"] != second["test_acc_mean"]  # the final runs did read (different) test labels
    assert first["test_acc_mean"] > second["test_acc_mean"] + 0.1  # random labels: near chance (1/7)


def test_a_leaky_objective_would_be_caught(cora):
    """The comparison above has power: an objective scored on test labels gives different values on the two
    graphs, so TPE would be steered differently."""
    from graphsparse.nn import build_model
    from graphsparse.tasks.node import NodeTrainConfig, train_node

    generator = torch.Generator().manual_seed(1)
    shuffled = _with_test_labels(cora, torch.randint(0, cora.num_classes, (cora.num_nodes,), generator=generator))
    scores = []
    for graph in (cora, shuffled):
        torch.manual_seed(0)
        model = build_model("gcn", graph.num_features, graph.num_classes)
        result = train_node(graph, model, graph.split("public"), NodeTrainConfig(epochs=8))
        scores.append(result.test)
    assert abs(scores[0] - scores[1]) > 0.2


# ---------------------------------------------------------------------------------------------- the fit hook
def test_fit_on_epoch_sees_each_validation_and_can_stop_the_run():
    model = torch.nn.Linear(2, 1)
    scores = iter([0.1, 0.3, 0.2, 0.5, 0.4, 0.6])
    seen = []
    run = fit(
        model,
        lambda epoch: 0.0,
        lambda: Validation(next(scores)),
        epochs=6,
        on_epoch=lambda e, v: seen.append((e, v.score)),
    )
    assert seen == [(1, 0.1), (2, 0.3), (3, 0.2), (4, 0.5), (5, 0.4), (6, 0.6)] and run.best_epoch == 6

    class Stop(Exception):
        pass

    def stop_at_3(epoch, validation):
        if epoch == 3:
            raise Stop

    with pytest.raises(Stop):
        fit(model, lambda epoch: 0.0, lambda: Validation(0.0), epochs=6, on_epoch=stop_at_3)


# ---------------------------------------------------------------------------------------------- search spaces
def test_every_method_has_a_space_and_overrides_apply():
    for method in ("gcn", "gaug-m", "gaug-o", "twirls", "ugs", "wd-glt"):
        space = space_for(method)
        assert len(space.searched) >= (1 if method == "wd-glt" else 2)
        assert space_for(method, json.loads(space.to_json())).to_dict() == space.to_dict()  # printable = loadable
    gaug_m = space_for("gaug-m", {"rm_pct": None, "add_pct": 40, "draw": {"type": "int", "low": 0, "high": 2}})
    assert [p.name for p in gaug_m.searched] == ["draw"]
    assert gaug_m.complete({"draw": 1}) == {"add_pct": 40, "draw": 1}
    assert gaug_m.by_target({"add_pct": 40, "draw": 1})["gaug"] == {"add_pct": 40, "draw": 1}
    assert space_for("gaug-m", draws=3).to_dict()["draw"]["high"] == 2
    extra = space_for("gcn", {"num_layers": {"fixed": 3, "target": "model"}})
    assert extra.by_target(extra.complete({}))["model"] == {"num_layers": 3}


@pytest.mark.parametrize(
    "override, message",
    [
        ({"lr": {"type": "float", "low": 0.1, "high": 0.01}}, "high 0.01 < low 0.1"),
        ({"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}, "low must be > 0"),
        ({"lr": {"type": "float", "low": 0.001}}, "needs 'high'"),
        ({"lr": {"type": "gaussian", "low": 0.0, "high": 1.0}}, "type must be one of"),
        ({"new_option": 3}, "not in the built-in space"),
        ({"lr": {"type": "float", "low": 0.001, "high": 0.1, "target": "optimizer"}}, "target must be one of"),
        ({"dropout": {"type": "categorical", "choices": []}}, "non-empty 'choices'"),
        ({"lr": {"type": "float", "low": float("nan"), "high": 0.1}}, "finite"),
    ],
)
def test_bad_space_entries_are_named(override, message):
    with pytest.raises(ValueError, match=message):
        space_for("gcn", override, "--space my.json")


def test_storage_urls():
    assert storage_url("sqlite:///x/study.db") == "sqlite:///x/study.db"
    assert storage_url("postgresql://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(ValueError, match="unknown database scheme 'http'"):
        storage_url("http://example.org/db")


# ---------------------------------------------------------------------------------------------- the command
def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "cora", "--trials", "-1"], "--trials must be >= 0"),
        (["--dataset", "cora", "--trial-seeds", "0"], "--trial-seeds must be >= 1"),
        (["--dataset", "cora", "--lr", "nan"], "--lr must be a finite number"),
        (["--dataset", "cora", "--gaug", "alpha=1"], "--gaug applies to --augment gaug-m and gaug-o only"),
        (["--dataset", "cora", "--augment", "gaug-o", "--gaug", "colour=3"], "unknown gaug-o options: colour"),
        (["--dataset", "cora", "--glt-rounds", "3"], "--glt-rounds applies to --method"),
        (["--dataset", "cora", "--method", "ugs", "--augment", "gaug-m"], "does not combine with --augment"),
        (
            ["--dataset", "cora", "--space", "/nonexistent/space.json"],
            "--space /nonexistent/space.json: cannot be read",
        ),
        (["--dataset", "cora", "--storage", "ftp://host/x"], "unknown database scheme 'ftp'"),
        (["--trials", "3"], "--dataset is required"),
        (["--dataset", "cora", "--split", "nope"], "no split 'nope'"),
    ],
)
def test_bad_options_are_one_line(argv, message, capsys, tmp_path):
    code, _, err = _run(["tune", *argv, "--db", str(tmp_path / "r.db"), "--no-progress"], capsys)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_print_space_is_valid_json_and_reflects_fixed_options(capsys, tmp_path):
    code, out, _ = _run(["tune", "--augment", "gaug-o", "--print-space", "--gaug", "pretrain_ep=40"], capsys)
    assert code == 0
    space = json.loads(out)
    assert space["pretrain_ep"] == {"type": "fixed", "target": "gaug", "fixed": 40}
    assert space["alpha"]["type"] == "float"
    bad = tmp_path / "space.json"
    bad.write_text("{not json")
    code, _, err = _run(["tune", "--print-space", "--space", str(bad)], capsys)
    assert code == 2 and "not valid JSON" in err


def test_command_records_the_choice_and_the_trial_count(tmp_path, capsys):
    from graphsparse.experiments import ResultsStore

    db = tmp_path / "r.db"
    argv = ["tune", "--dataset", "cora", "--trials", "4", "--trial-seeds", "1", "--seeds", "2", "--epochs", "3"]
    code, out, err = _run([*argv, "--db", str(db), "--json", "--no-progress"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["command"] == "tune" and doc["trials"] == 4 and doc["seeds"] == [0, 1]
    assert set(doc["chosen"]) == {"lr", "weight_decay", "dropout", "hidden_channels"}
    assert doc["storage"] == f"sqlite:///{tmp_path / 'r-optuna.db'}"  # beside the results database
    store = ResultsStore(db)
    runs = store.runs(kind="node")
    tuned = [r for r in runs if "baseline_of" not in r["config"]]
    assert [r["seed"] for r in tuned] == [0, 1] and len(runs) == 4
    assert tuned[0]["config"]["tuned"]["chosen"] == doc["chosen"] and tuned[0]["config"]["tuned"]["trials"] == 4
    assert store.get(doc["store_key"])["chosen"] == doc["chosen"]
    # a rerun resumes the study: nothing left to search, the same choice
    code, out, _ = _run([*argv, "--db", str(db), "--json", "--no-progress", "--seeds", "1"], capsys)
    again = json.loads(out)
    assert code == 0 and again["trials_run_here"] == 0 and again["chosen"] == doc["chosen"]
    # a study is never mixed with another search under the same name
    code, _, err = _run([*argv, "--db", str(db), "--epochs", "4", "--study-name", doc["study"]], capsys)
    assert code == 2 and "tunes something else" in err


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _argv(db, storage, trials, space):
    argv = ["tune", "--dataset", "cora", "--trials", str(trials), "--trial-seeds", "1", "--epochs", str(EPOCHS)]
    return [*argv, "--seeds", "0", "--db", str(db), "--storage", storage, "--study-name", "shared", "--space", space]


def _space_file(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(json.dumps(SMALL))
    return str(path)


def _worker(argv):
    command = [sys.executable, "-m", "graphsparse.cli", *argv, "--no-progress"]
    return subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(storage, count, proc, timeout=240):
    deadline = time.monotonic() + timeout
    while _finished(storage) < count and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)


def _finished(storage):
    """The study's finished trials, read with one SQL query: polling through ``optuna.load_study`` builds a
    storage (engine, schema check) each time, which costs the processes under test their CPU."""
    path = storage.removeprefix("sqlite:///")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
            row = con.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')").fetchone()
    except sqlite3.OperationalError:  # not created yet, or its tables not yet
        return 0
    return row[0]


def test_two_processes_share_one_sqlite_study(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    trials = 60  # enough that the first process is still running trials when the second has started up
    space = _space_file(tmp_path)
    other = _worker(_argv(tmp_path / "a.db", storage, trials, space))
    _wait_for(storage, 1, other)  # the other process is up and running trials: join it from this one
    code, _, err = _run([*_argv(tmp_path / "b.db", storage, trials, space), "--no-progress", "--json"], capsys)
    assert code == 0, err
    assert other.wait(timeout=300) == 0, other.stderr.read()
    study = optuna.load_study(study_name="shared", storage=storage)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert trials <= len(finished) <= trials + 1  # each worker may finish the trial it was running
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) == 2, workers  # both processes ran trials of the one study


def test_a_killed_study_resumes(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'killed.db'}"
    trials = 12  # enough that the kill after the second finished trial lands before the last one, however fast
    space = _space_file(tmp_path)
    proc = _worker([*_argv(tmp_path / "a.db", storage, trials, space), "--heartbeat", "1"])
    _wait_for(storage, 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _finished(storage)
    assert 2 <= before < trials
    time.sleep(2.5)  # two missed heartbeats: the killed worker's running trial becomes stale
    argv = _argv(tmp_path / "b.db", storage, trials, space)
    code, out, err = _run([*argv, "--heartbeat", "1", "--no-progress", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["trials"] == trials and doc["trials_run_here"] >= trials - before
    study = optuna.load_study(study_name="shared", storage=storage)
    assert _finished(storage) == trials
    # the trial the kill interrupted: failed after two missed heartbeats and retried, or, killed before its first
    # heartbeat, left RUNNING (Optuna cannot tell it from a live one); it never counts as finished
    assert sum(t.state.name in ("RUNNING", "FAIL") for t in study.trials) <= 1


# ---------------------------------------------------------------------------------------------- every method
@pytest.mark.parametrize(
    "method, model, values, options",
    [
        ("gaug-m", "gcn", {"rm_pct": 2, "add_pct": 5, "draw": 1}, {"gaug": {"ep_epochs": 1}}),
        ("gaug-o", "gcn", {"alpha": 0.5, "beta": 1.0, "temperature": 0.5, "pretrain_ep": 1, "pretrain_nc": 1}, {}),
        ("twirls", "twirls", {"lam": 1.0, "steps": 4, "attention": True}, {}),
        ("ugs", "gcn", {"s1": 1e-3, "s2": 1e-3}, {"rounds": 2}),
    ],
)
def test_each_method_trains_its_trial_on_the_tuning_graph(cora, method, model, values, options):
    from graphsparse.tuning import make_objective, run_config

    setup = build_setup(method, model, "cora", "public", preset="none", train={"epochs": 2}, **options)
    if method == "gaug-o":
        setup.base["gaug"].update(epochs=2)
    space = space_for(method)
    hidden = tuning_graph(cora)
    value = make_objective(setup, hidden, space, 1)(optuna.trial.FixedTrial(values))
    # the trial's validation accuracy on the tuning graph, seed 0, two epochs
    assert value == pytest.approx({"gaug-m": 0.266, "gaug-o": 0.21, "twirls": 0.564, "ugs": 0.309}[method])
    if method == "gaug-m":  # the predictor reads edges and features only: the real graph reuses the trial's draw
        rows = run_config(setup, cora, values, space, [0])
        assert len(setup._embeddings) == 1 and rows[0]["test_acc"] > 0
