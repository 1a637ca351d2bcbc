"""``graphsparse glt`` with GIN and GAT backbones (TEDDY, UGS and random) on a tiny graph."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

import graphsparse.data
from graphsparse.data import synthetic_dcsbm
from graphsparse.experiments.tables import search_timing

torch.set_num_threads(1)  # the machine is shared; one thread is faster than two contended ones


@pytest.mark.parametrize("model", ["gin", "gat"])
def test_cli_glt_backbone(model, tmp_path, capsys, monkeypatch):
    from graphsparse.cli import main

    tiny = synthetic_dcsbm(num_nodes=150, num_edges=500, num_features=8, num_classes=3, seed=0)
    monkeypatch.setattr(graphsparse.data, "load_dataset", lambda name, **kw: tiny.replace(name=name))

    plot = tmp_path / "glt.png"
    argv = ["glt", "--dataset", "synthetic", "--model", model, "--method", "teddy,ugs,random", "--rounds", "2"]
    argv += ["--pg", "0.1", "--pw", "0.3", "--seeds", "1", "--epochs", "2", "--json", "--no-progress"]
    argv += ["--db", str(tmp_path / "r.db"), "--plot", str(plot)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == model
    assert [(lv["method"], lv["round"]) for lv in data["levels"]] == [
        (m, k) for m in ("teddy", "ugs", "random") for k in (1, 2)
    ]
    for lv in data["levels"]:
        k = lv["round"]
        assert lv["graph_sparsity"] == pytest.approx(1 - 0.9**k, abs=1e-3)
        assert lv["weight_sparsity"] == pytest.approx(1 - 0.7**k, abs=1e-3)

    # seed 0, two epochs: GIN still predicts one class for all (a third of the 30 test nodes), GAT learns
    expected = {"gin": [10, 10, 10, 10, 10, 10], "gat": [28, 26, 21, 8, 29, 26]}[model]
    assert [lv["test_acc_mean"] for lv in data["levels"]] == pytest.approx([n / 30 for n in expected])
    assert set(data["timing"]) == {"teddy", "ugs", "random"}
    assert plot.exists()


def test_search_timing_counts_all_ugs_rounds():
    rows = [
        SimpleNamespace(method="teddy", round=1, seconds=1.0),
        SimpleNamespace(method="teddy", round=2, seconds=2.0),
        SimpleNamespace(method="ugs", round=2, seconds=5.0),
        SimpleNamespace(method="ugs", round=1, seconds=4.0),
    ]
    timing = search_timing(rows)
    assert timing["teddy"] == {"sweep_seconds": 3.0, "final_ticket_seconds": 2.0}
    assert timing["ugs"] == {"sweep_seconds": 9.0, "final_ticket_seconds": 9.0}
