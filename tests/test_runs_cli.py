"""``graphsparse runs`` (list / show / compare / export) and what every run records about how it ran."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from graphsparse.cli import main
from graphsparse.cli.runs import git_commit, parse_since
from graphsparse.experiments.store import ResultsStore


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Two invocations of `train` (cora gcn, 2 seeds; texas mlp, 1 seed) and one tiny GLT search."""
    folder = tmp_path_factory.mktemp("runs")
    path = folder / "r.db"
    common = ["--db", str(path), "--no-progress", "--json"]
    assert main(["train", "--dataset", "cora", "--epochs", "2", "--seeds", "2", *common]) == 0
    assert main(["train", "--dataset", "texas", "--model", "mlp", "--epochs", "1", "--seeds", "1", *common]) == 0
    glt = ["glt", "--dataset", "cora", "--method", "random", "--rounds", "1", "--seeds", "1", "--epochs", "1"]
    assert main([*glt, "--plot", str(folder / "glt.png"), *common]) == 0
    return path


def _run(capsys, *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_runs_record_their_invocation(db):
    runs = ResultsStore(db).runs()
    assert [(r["dataset"], r["model"], r["seed"]) for r in runs] == [
        ("cora", "gcn", 0),
        ("cora", "gcn", 1),
        ("texas", "mlp", 0),
    ]
    first, second, third = (r["invocation"] for r in runs)
    assert first["id"] == second["id"] != third["id"]  # one id per invocation, shared by its runs
    assert first["argv"][:4] == ["graphsparse", "train", "--dataset", "cora"]
    assert first["device"] == "cpu" and first["torch_threads"] >= 1
    assert first["git_commit"] == git_commit()  # the checkout's commit (None when not a git checkout)
    assert runs[0]["versions"]["torch"]
    assert [point["epoch"] for point in runs[0]["curves"]][-1] == 2  # the per-epoch history
    assert all("loss" in point for point in runs[0]["curves"])
    levels = ResultsStore(db).units("glt|")
    assert len(levels) == 2 and all(u["invocation"]["argv"][1] == "glt" for u in levels)


def test_list_filters_and_fixed_decimals(db, capsys):
    out = _run(capsys, "runs", "list", "--db", str(db))
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["id", "date", "(UTC)", "kind"]
    assert len(lines) == 2 + 5 + 1  # header, rule, 3 runs + 2 GLT levels, footer
    node = ResultsStore(db).runs()[0]
    assert f"{100 * node['metrics']['test_acc']:.2f}" in lines[2]
    only = _run(capsys, "runs", "list", "--db", str(db), "--dataset", "texas", "--json")
    assert [(r["dataset"], r["model"]) for r in json.loads(only)] == [("texas", "mlp")]
    models = json.loads(_run(capsys, "runs", "list", "--db", str(db), "--model", "gcn", "--kind", "node", "--json"))
    assert [r["seed"] for r in models] == [0, 1]
    glt = json.loads(_run(capsys, "runs", "list", "--db", str(db), "--kind", "glt", "--json"))
    assert [(r["kind"], r["config"]["method"], r["config"]["round"]) for r in glt] == [
        ("glt", "dense", 0),
        ("glt", "random", 1),
    ]
    assert all(r["id"].startswith("g") for r in glt)
    assert [r["metrics"]["test_acc_mean"] for r in glt] == pytest.approx([514 / 1000, 466 / 1000])  # seed 0
    random = json.loads(_run(capsys, "runs", "list", "--db", str(db), "--method", "random", "--json"))
    assert [(r["kind"], r["config"]["method"]) for r in random] == [("glt", "random")]
    newest = json.loads(_run(capsys, "runs", "list", "--db", str(db), "--limit", "2", "--json"))
    assert [r["kind"] for r in newest] == ["glt", "glt"]
    assert json.loads(_run(capsys, "runs", "list", "--db", str(db), "--since", "2999-01-01", "--json")) == []
    assert len(json.loads(_run(capsys, "runs", "list", "--db", str(db), "--since", "1d", "--json"))) == 5


def test_show_and_compare(db, capsys):
    shown = json.loads(_run(capsys, "runs", "show", "1", "--db", str(db)))
    assert shown["id"] == 1 and shown["config"]["split"] == "public" and shown["invocation"]["id"]
    level_id = json.loads(_run(capsys, "runs", "list", "--db", str(db), "--kind", "glt", "--json"))[1]["id"]
    level = json.loads(_run(capsys, "runs", "show", level_id, "--db", str(db)))
    assert level["config"]["method"] == "random" and "test_accs" in level["payload"]
    assert (level["payload"]["task"], level["payload"]["metric"]) == ("node", "acc")  # the stored level names them
    compared = json.loads(_run(capsys, "runs", "compare", "1", "2", "3", "--db", str(db), "--json"))
    assert compared["ids"] == [1, 2, 3]
    assert compared["config_differences"]["seed"] == [0, 1, 0]
    assert compared["config_differences"]["dataset"] == ["cora", "cora", "texas"]
    assert len(compared["metrics"]["test_acc"]) == 3
    table = _run(capsys, "runs", "compare", "1", "2", "--db", str(db))
    assert "test_acc" in table and "seed" in table and "dataset" not in table


def test_export_csv_and_json(db, capsys, tmp_path):
    rows = list(csv.DictReader(io.StringIO(_run(capsys, "runs", "export", "--format", "csv", "--db", str(db)))))
    assert [r["kind"] for r in rows] == ["node", "node", "node", "glt", "glt"]
    runs = ResultsStore(db).runs()
    assert float(rows[0]["metric.test_acc"]) == runs[0]["metrics"]["test_acc"]  # full precision
    assert rows[0]["invocation_id"] == runs[0]["invocation"]["id"]
    out = tmp_path / "runs.json"
    capsys.readouterr()
    assert main(["runs", "export", "--format", "json", "--out", str(out), "--db", str(db), "--kind", "node"]) == 0
    assert "3 records written" in capsys.readouterr().err
    assert [r["id"] for r in json.loads(out.read_text())] == [1, 2, 3]


def test_errors_are_one_line(db, capsys, tmp_path):
    assert main(["runs", "show", "999", "--db", str(db)]) == 2
    assert "no run with id 999" in capsys.readouterr().err
    assert main(["runs", "show", "1", "--db", str(tmp_path / "missing.db")]) == 2
    assert "no results database" in capsys.readouterr().err
    assert main(["runs", "list", "--db", str(tmp_path / "missing.db")]) == 0  # nothing stored yet: empty table
    captured = capsys.readouterr()
    assert "0 stored results" in captured.out and "nothing stored" in captured.err
    assert not (tmp_path / "missing.db").exists()
    assert main(["runs", "list", "--db", str(db), "--since", "yesterday-ish"]) == 2
    assert "--since" in capsys.readouterr().err


def test_parse_since():
    assert parse_since("2026-12-01") == parse_since("2026-12-01T00:00:00+00:00")
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200


def test_old_database_gains_the_invocation_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as con:  # the first release's tables
        con.executescript(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, kind TEXT NOT NULL, "
            "dataset TEXT NOT NULL, model TEXT NOT NULL, seed INTEGER, config TEXT NOT NULL, metrics TEXT NOT NULL, "
            "timings TEXT NOT NULL, versions TEXT NOT NULL);"
            "CREATE TABLE results (key TEXT PRIMARY KEY, created REAL NOT NULL, payload TEXT NOT NULL);"
            "INSERT INTO runs (created, kind, dataset, model, seed, config, metrics, timings, versions) "
            "VALUES (1.0, 'node', 'cora', 'gcn', 0, '{}', '{\"test_acc\": 0.8}', '{}', '{}');"
        )
    store = ResultsStore(path)
    old = store.runs()[0]
    assert old["invocation"] is None and old["curves"] is None and old["metrics"] == {"test_acc": 0.8}
    store.invocation = {"id": "abc"}
    store.put("glt|gcn|paper|cora|data=x|schema=2|random|round=1|seeds=0", {"method": "random", "round": 1})
    assert store.units("glt|")[0]["invocation"] == {"id": "abc"}
    run_id = store.record_run("node", "cora", "gcn", 1, {}, {"test_acc": 0.7}, curves=[{"loss": float("nan")}])
    assert store.run(run_id)["invocation"] == {"id": "abc"}
    assert store.run(run_id)["curves"] == [{"loss": None}]  # stored as strict JSON
    assert store.run(run_id + 5) is None
