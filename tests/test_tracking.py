"""Tracking PyG users already use: ``runs export --to mlflow`` read back through ``mlflow.search_runs`` (the same
metrics as ``runs show``, curves by epoch, GLT levels as steps) and ``--tensorboard DIR`` event files read back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from graphsparse.cli import main

EPOCHS = 3


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Two cora gcn runs (3 epochs) and a two-round random GLT search, stored by the commands."""
    folder = tmp_path_factory.mktemp("tracking")
    path = folder / "r.db"
    common = ["--db", str(path), "--no-progress", "--json"]
    assert main(["train", "--dataset", "cora", "--epochs", str(EPOCHS), "--seeds", "2", *common]) == 0
    glt = ["glt", "--dataset", "cora", "--method", "random", "--rounds", "2", "--seeds", "1", "--epochs", "1"]
    assert main([*glt, "--plot", str(folder / "glt.png"), *common]) == 0
    return path


def _json(capsys, *argv: str):
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_mlflow_export_reads_back_as_runs_show(db, tmp_path, capsys, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a local store (MLflow 3 keeps ./mlruns folders read-mostly)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # what mlflow.search_runs reads
    capsys.readouterr()
    assert main(["runs", "export", "--to", "mlflow", "--tracking-uri", uri, "--db", str(db)]) == 0
    assert "2 runs and 1 GLT series exported to experiment 'graphsparse'" in capsys.readouterr().err
    found = mlflow.search_runs(experiment_names=["graphsparse"], output_format="list")  # $MLFLOW_TRACKING_URI
    by_id = {run.data.tags["graphsparse.id"]: run for run in found}
    client = MlflowClient(uri)
    records = _json(capsys, "runs", "list", "--db", str(db), "--json")
    for record in (r for r in records if r["kind"] == "node"):
        shown = _json(capsys, "runs", "show", str(record["id"]), "--db", str(db))
        run = by_id[str(record["id"])]
        for name, value in shown["metrics"].items():
            assert math.isclose(run.data.metrics[name], value, rel_tol=1e-6), name
        assert run.data.params["dataset"] == "cora" and run.data.params["config.train.epochs"] == str(EPOCHS)
        assert run.data.tags.get("graphsparse.git_commit") == shown["invocation"]["git_commit"]
        assert run.data.tags["graphsparse.package_version"] == shown["invocation"]["package_version"]
        curve = client.get_metric_history(run.info.run_id, "curve.loss")
        assert [m.step for m in sorted(curve, key=lambda m: m.step)] == [p["epoch"] for p in shown["curves"]]
        assert len(curve) == EPOCHS
    # the GLT levels of one method: one MLflow run, the rounds as steps (the dense level is step 0)
    levels = sorted((r for r in records if r["kind"] == "glt"), key=lambda r: r["config"]["round"])
    series = next(run for run in found if run.data.tags["graphsparse.kind"] == "glt")
    assert series.data.tags["graphsparse.ids"] == ",".join(r["id"] for r in levels)
    history = sorted(client.get_metric_history(series.info.run_id, "test_acc_mean"), key=lambda m: m.step)
    assert [m.step for m in history] == [0, 1, 2]
    for point, level in zip(history, levels):
        assert math.isclose(point.value, level["metrics"]["test_acc_mean"], rel_tol=1e-6)
    sparsity = sorted(client.get_metric_history(series.info.run_id, "graph_sparsity"), key=lambda m: m.step)
    assert [m.value for m in sparsity][0] == 0.0 and sparsity[-1].value > sparsity[1].value > 0
    # a second export adds nothing
    assert main(["runs", "export", "--to", "mlflow", "--tracking-uri", uri, "--db", str(db)]) == 0
    assert "(3 already there, skipped)" in capsys.readouterr().err
    assert len(client.search_runs([series.info.experiment_id])) == 3


def test_export_options_are_checked(db, capsys):
    for argv, message in (
        (["--format", "csv", "--to", "mlflow"], "one of them"),
        ([], "one of them"),
        (["--format", "csv", "--tracking-uri", "sqlite:///x.db"], "--tracking-uri applies to --to mlflow only"),
        (["--to", "mlflow", "--out", "x.csv"], "--out names a file"),
    ):
        assert main(["runs", "export", *argv, "--db", str(db)]) == 2, argv
        assert message in capsys.readouterr().err, argv


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_writer_for_train_and_glt(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    logs, db = tmp_path / "tb", tmp_path / "r.db"
    common = ["--db", str(db), "--no-progress", "--json", "--tensorboard", str(logs)]
    assert main(["train", "--dataset", "cora", "--epochs", str(EPOCHS), "--seeds", "2", *common]) == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in logs.iterdir()) == ["node-cora-gcn-seed0", "node-cora-gcn-seed1"]
    for run in document["runs"]:
        scalars = _scalars(logs / f"node-cora-gcn-seed{run['seed']}")
        assert [step for step, _ in scalars["curve/loss"]] == list(range(1, EPOCHS + 1))
        assert math.isclose(scalars["final/test_acc"][0][1], run["test_acc"], rel_tol=1e-6)
    glt = ["glt", "--dataset", "cora", "--method", "random", "--rounds", "2", "--seeds", "1", "--epochs", "1"]
    assert main([*glt, "--plot", str(tmp_path / "glt.png"), *common]) == 0
    document = json.loads(capsys.readouterr().out)
    scalars = _scalars(logs / "glt-cora-gcn-random")
    assert [step for step, _ in scalars["test_acc_mean"]] == [1, 2]
    for (_, value), level in zip(scalars["test_acc_mean"], document["levels"]):
        assert math.isclose(value, level["test_acc_mean"], rel_tol=1e-6)
    assert [step for step, _ in _scalars(logs / "glt-cora-gcn-dense")["graph_sparsity"]] == [0]


def test_tensorboard_option_is_refused_before_anything_is_created_when_missing(tmp_path, capsys, monkeypatch):
    import graphsparse.experiments.tracking as tracking

    def missing():
        raise ValueError("--tensorboard needs the tensorboard package: pip install 'graphsparse[tensorboard]'")

    monkeypatch.setattr(tracking, "_summary_writer", missing)
    db = tmp_path / "r.db"
    argv = ["train", "--dataset", "cora", "--seeds", "1", "--db", str(db), "--tensorboard", str(tmp_path / "tb")]
    assert main(argv) == 2
    assert "graphsparse[tensorboard]" in capsys.readouterr().err
    assert not db.exists() and not (tmp_path / "tb").exists()
