"""``train --json`` (node, link) and ``glt --json`` share one document (schema 1): the shared keys, the seeds as a
list and the resolved configuration (the values a rerun needs, model defaults filled in)."""

from __future__ import annotations

import json
import math
import statistics

import graphsparse
from graphsparse.cli import main
from graphsparse.experiments.document import SCHEMA

SHARED = {"schema", "version", "command", "dataset", "model", "task", "metric", "seeds", "config", "summary"}


def _run(capsys, *argv: str) -> dict:
    assert main([*argv, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


def _shared(doc: dict, command: str) -> None:
    assert SHARED <= set(doc)
    assert doc["schema"] == SCHEMA == 1 and doc["version"] == graphsparse.__version__ and doc["command"] == command
    assert doc["config"]["device"] == "cpu" and doc["config"]["threads"] >= 1
    for stats in doc["summary"].values():
        assert set(stats) == {"mean", "std"}


def test_train_node_document(tmp_path, capsys):
    doc = _run(capsys, "train", "--dataset", "texas", "--model", "mlp", "--seeds", "2", "--seed-offset", "3",
               "--epochs", "2", "--lr", "0.02", "--preset", "none", "--db", str(tmp_path / "r.db"))  # fmt: skip
    _shared(doc, "train")
    assert (doc["dataset"], doc["model"], doc["task"], doc["metric"]) == ("texas", "mlp", "node", "acc")
    assert doc["seeds"] == [3, 4] and [r["seed"] for r in doc["runs"]] == [3, 4]
    config = doc["config"]
    assert config["train"]["lr"] == 0.02 and config["train"]["epochs"] == 2
    assert config["model_options"]["hidden_channels"] == 64  # the model's default, filled in
    assert config["preset"] == "none" and config["batching"] == "full"
    assert doc["summary"]["test_acc"]["mean"] == doc["test_acc_mean"]  # the older flat keys stay
    # the std is named: the sample std over seeds (ddof=1), as the papers' tables and pandas
    assert (doc["std"], doc["std_ddof"]) == ("sample (ddof=1)", 1)
    tests = [r["test_acc"] for r in doc["runs"]]
    assert math.isclose(doc["summary"]["test_acc"]["std"], statistics.stdev(tests), abs_tol=1e-12)


def test_train_link_document(tmp_path, capsys):
    doc = _run(capsys, "train", "--task", "link", "--dataset", "celegans", "--seeds", "1", "--epochs", "2",
               "--hidden", "8", "--db", str(tmp_path / "r.db"))  # fmt: skip
    _shared(doc, "train")
    assert (doc["task"], doc["metric"], doc["seeds"]) == ("link", "auc", [0])
    config = doc["config"]
    assert config["model_options"]["hidden_channels"] == 8 and "out_channels" in config["model_options"]
    assert config["train"]["epochs"] == 2 and config["train"]["lr"] > 0 and config["eval_negatives"] >= 1
    assert "test_auc" in doc["summary"] and len(doc["runs"]) == 1


def test_glt_document(tmp_path, capsys):
    doc = _run(capsys, "glt", "--dataset", "synthetic", "--rounds", "1", "--seeds", "2", "--epochs", "2",
               "--method", "random", "--preset", "none", "--hidden", "8", "--db", str(tmp_path / "r.db"),
               "--plot", str(tmp_path / "p.png"))  # fmt: skip
    _shared(doc, "glt")
    assert (doc["task"], doc["seeds"]) == ("node", [0, 1])
    config = doc["config"]
    assert config["train"]["epochs"] == 2 and config["train"]["lr"] > 0
    assert config["model_options"]["hidden_channels"] == 8 and config["methods"] == ["random"]
    assert config["rounds"] == 1 and (config["pg"], config["pw"]) == (0.05, 0.2)
    assert [lv["round"] for lv in doc["levels"]] == [1] and "runs" not in doc
    assert doc["summary"][f"test_{doc['metric']}"]["mean"] == doc["dense"]["test_acc_mean"]
    # the methods' options (none for random) and labels, per method; no per-method top-level keys
    assert doc["method_options"] == config["method_options"] == {"random": {}} and doc["labels"] == {"random": "random"}
    assert "distill" not in doc and "ugs_l1" not in doc
    assert len(doc["levels"][0]["test_accs"]) == 2
    # GLT levels keep the population std over seeds (ddof=0), and say so
    assert (doc["std"], doc["std_ddof"]) == ("population (ddof=0)", 0)
    level = doc["levels"][0]
    assert math.isclose(level["test_acc_std"], statistics.pstdev(level["test_accs"]), abs_tol=1e-12)
