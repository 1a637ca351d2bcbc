"""TWIRLS benchmark helpers: random spurious edges, the epoch benchmark and the reproduction commands."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from graphsparse import Graph, GraphError

ROOT = Path(__file__).resolve().parents[1]


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


robustness = _load("benchmarks/twirls_robustness.py", "twirls_robustness")
epoch_bench = _load("benchmarks/twirls_epoch.py", "twirls_epoch")
reproduce = _load("docs/twirls/reproduce.py", "twirls_reproduce")


def _ring(n: int = 30) -> Graph:
    idx = torch.arange(n)
    return Graph(torch.stack([idx, (idx + 1) % n]), num_nodes=n, x=torch.randn(n, 3), name="ring")


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.5, 1.0])
def test_add_random_edges_adds_exactly_k_new_edges(ratio: float) -> None:
    g = _ring()
    noisy = robustness.add_random_edges(g, ratio, seed=3)
    assert noisy.num_edges == g.num_edges + round(ratio * g.num_edges)
    old = set(map(tuple, g.edges.t().tolist()))
    new = set(map(tuple, noisy.edges.t().tolist()))
    assert old <= new and all(u < v for u, v in new)  # originals kept, no loops, canonical
    again = robustness.add_random_edges(g, ratio, seed=3)
    assert torch.equal(again.edges, noisy.edges)  # seeded
    if ratio > 0:
        assert not torch.equal(robustness.add_random_edges(g, ratio, seed=4).edges, noisy.edges)
    assert torch.equal(noisy.x, g.x)


def test_add_random_edges_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="ratio"):
        robustness.add_random_edges(_ring(), -0.1)
    with pytest.raises(GraphError, match="cannot add"):
        robustness.add_random_edges(_ring(5), 10.0)


def test_robustness_script_smoke(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    argv = [
        "--datasets",
        "cora",
        "--ratios",
        "0,1",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--table",
        str(tmp_path / "r.md"),
        "--plot",
        str(tmp_path / "r.png"),
    ]
    assert robustness.main(argv) == 0
    results = json.loads(out.read_text())
    assert set(results["cora"]) == {"gcn", "twirls", "twirls-att", "twirls-att-bef"}
    assert results["cora"]["gcn"]["1"]["num_edges"] == 2 * results["cora"]["gcn"]["0"]["num_edges"]
    assert (tmp_path / "r.png").stat().st_size > 0 and "k = 100%" in (tmp_path / "r.md").read_text()


def test_robustness_script_rejects_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown --models gat"):
        robustness.main(["--models", "gcn,gat", "--out", str(tmp_path / "r.json")])


def test_epoch_benchmark_quick(capsys: pytest.CaptureFixture[str]) -> None:
    assert epoch_bench.main(["--quick", "--json", "--steps", "4", "--repeats", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 4 and result["twirls_s4_epoch_median_ms"] > 0 and result["gcn_epoch_median_ms"] > 0


def test_reproduction_commands_use_presets() -> None:
    for dataset in reproduce.CITATION + reproduce.HETEROPHILY:
        cmds = reproduce.commands(dataset)
        assert cmds["twirls"][-2:] == ["--preset", "paper"]
        assert set(cmds) == set(reproduce.COLUMNS)
    assert reproduce.commands("pubmed")["twirls-att"] is None
    text = reproduce.table({"cora/twirls": {"test_acc_mean": 0.84, "test_acc_std": 0.01}}, ["cora"])
    assert "84.0 ± 1.0" in text and "84.1" in text
