"""Tickets out: `glt --save-tickets DIR` writes each level's ticket and records it in the store; a fresh process
reloads one with `graphsparse ticket eval` and gets the test accuracy the search reported; `ticket compact`
exports the compact GCN."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graphsparse.cli import main
from graphsparse.experiments.store import ResultsStore
from graphsparse.sparsify import Ticket

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ["glt", "--dataset", "cora", "--method", "teddy", "--rounds", "2", "--seeds", "1", "--epochs", "5"]
SEARCH += ["--preset", "none", "--hidden", "16", "--distill", "0", "--json", "--no-progress"]


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tickets")
    argv = [*SEARCH, "--db", str(tmp / "r.db"), "--plot", str(tmp / "p.png"), "--save-tickets", str(tmp / "t")]
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return tmp, json.loads(out.getvalue())


def _cli(*argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "graphsparse.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_tickets_written_and_recorded(search):
    tmp, out = search
    level = out["levels"][1]
    assert level["round"] == 2 and len(level["tickets"]) == 1
    path = Path(level["tickets"][0])
    assert path == (tmp / "t" / "teddy" / "round2" / "seed0" / "ticket.pt").absolute() and path.is_file()
    assert Path(out["dense"]["tickets"][0]).is_file()
    raw = torch.load(path, weights_only=True)  # plain tensors, dicts and numbers
    assert raw["format"] == "graphsparse.ticket"
    ticket = Ticket.load(path)
    p = ticket.provenance
    assert (p["method"], p["round"], p["seed"], p["dataset"], p["model"]) == ("teddy", 2, 0, "cora", "gcn")
    assert p["distill"] == 0.0 and p["weight_rule"] == "l0"  # the method's options, as the search ran it
    assert abs(ticket.graph_sparsity - level["graph_sparsity"]) < 1e-9
    assert ticket.weight_sparsity > 0.3  # the l0-projected weights of round 2 (36 %)
    assert (path.parent / "trained.pt").is_file()
    store = ResultsStore(tmp / "r.db")
    stored = [store.get(k) for k in store.keys() if "|teddy|round=2|" in k]
    assert [s["tickets"] for s in stored] == [[str(path)]]


def test_eval_in_fresh_process_reproduces_search(search):
    _, out = search
    level = out["levels"][1]
    proc = _cli("ticket", "eval", level["tickets"][0], "--dataset", "cora", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["test"] == level["test_acc_mean"]  # same seed, same θ0, same l0 projection: exactly
    assert result["search_test"] == level["test_acc_mean"]


def test_compact_export(search, tmp_path, capsys):
    _, out = search
    path = out["levels"][1]["tickets"][0]
    assert main(["ticket", "compact", path, "--dataset", "cora", "--out", str(tmp_path / "c.pt")]) == 0
    assert "max |logit difference|" in capsys.readouterr().out
    compact = torch.load(tmp_path / "c.pt", weights_only=True)
    assert compact["format"] == "graphsparse.compact_gcn" and len(compact["weights"]) == 2


def test_unwritable_ticket_dir_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    argv = [*SEARCH, "--db", str(tmp_path / "r.db"), "--plot", str(tmp_path / "p.png"), "--save-tickets", str(blocker)]
    assert main(argv) == 2
    assert "--save-tickets" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_eval_refuses_wrong_dataset_and_missing_file(search, capsys):
    _, out = search
    assert main(["ticket", "eval", out["levels"][0]["tickets"][0], "--dataset", "citeseer"]) == 2
    assert "cora" in capsys.readouterr().err
    assert main(["ticket", "eval", "/nonexistent/ticket.pt", "--dataset", "cora"]) == 2
    assert "not found" in capsys.readouterr().err


def test_link_ticket_roundtrip(tmp_path, capsys):
    argv = ["glt", "--task", "link", "--dataset", "cora", "--method", "ugs", "--rounds", "1", "--seeds", "1"]
    argv += ["--epochs", "3", "--hidden", "8", "--db", str(tmp_path / "r.db"), "--plot", str(tmp_path / "p.png")]
    assert main([*argv, "--save-tickets", str(tmp_path / "t"), "--json", "--no-progress"]) == 0
    level = json.loads(capsys.readouterr().out)["levels"][0]
    assert main(["ticket", "eval", level["tickets"][0], "--dataset", "cora", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["metric"] == "auc" and result["test"] == level["test_auc_mean"]
    assert Ticket.load(level["tickets"][0]).provenance["s1"] == 1e-2  # UGS's options travel with its ticket


def test_distilled_ticket_eval_retrains_with_its_teacher(tmp_path, capsys):
    """A TEDDY + KD ticket records λ; `ticket eval` trains the seed's dense teacher again and gets the search's
    number exactly."""
    argv = [*SEARCH, "--db", str(tmp_path / "r.db"), "--plot", str(tmp_path / "p.png")]
    argv[argv.index("--distill") + 1] = "2"
    argv[argv.index("--rounds") + 1] = "1"
    assert main([*argv, "--save-tickets", str(tmp_path / "t")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method_options"] == {"teddy": {"distill": 2.0}} and out["labels"]["teddy"] == "teddy + KD (λ = 2)"
    level = out["levels"][0]
    assert Ticket.load(level["tickets"][0]).provenance["distill"] == 2.0
    assert main(["ticket", "eval", level["tickets"][0], "--dataset", "cora", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["test"] == level["test_acc_mean"]
