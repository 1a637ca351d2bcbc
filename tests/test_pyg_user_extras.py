"""A PyG user's side issues: a failed ``train`` creates nothing, the Python API keeps torch's CSR beta
warning to itself (locally, not by a global filter), and the notebooks find their data through the package."""

from __future__ import annotations

import pytest

from graphsparse.cli import main
from graphsparse.data import locate_dataset


@pytest.mark.parametrize("dataset", ["no-such-dataset", "ogbn-arxiv"])
def test_failed_train_leaves_no_database(dataset, tmp_path, monkeypatch, capsys):
    if dataset == "ogbn-arxiv" and locate_dataset(dataset) is not None:
        pytest.skip("ogbn-arxiv is downloaded on this machine")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRAPHSPARSE_DB", raising=False)
    assert main(["train", "--dataset", dataset, "--seeds", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "graphsparse train: error:" in err
    assert not (tmp_path / "runs").exists()  # neither runs/graphsparse.db nor its folder
    given = tmp_path / "elsewhere" / "r.db"
    assert main(["train", "--dataset", dataset, "--seeds", "1", "--db", str(given), "--no-progress"]) == 2
    assert not given.exists() and not given.parent.exists()


def test_grid_with_a_missing_dataset_creates_nothing(tmp_path, capsys):
    db = tmp_path / "r.db"
    assert main(["train", "--dataset", "cora,no-such-dataset", "--seeds", "1", "--db", str(db), "--no-progress"]) == 2
    assert "no-such-dataset" in capsys.readouterr().err and not db.exists()


_API_SCRIPT = r"""
import warnings
import torch
from graphsparse.data import load_dataset
from graphsparse.nn import build_model
from graphsparse.nn.functional import sparse_dropout_matmul
from graphsparse.tasks.node import NodeTrainConfig, run_node, with_sparse_features

graph = load_dataset("cora")
run_node(graph, lambda: build_model("gcn", graph.num_features, graph.num_classes), [0],
         NodeTrainConfig(epochs=2, sparse_features=True), progress=False)
model = build_model("gcn", graph.num_features, graph.num_classes)
values = torch.ones(graph.num_edges, requires_grad=True)
model(graph, edge_values=values).sum().backward()  # the SpMM's backward w.r.t. edge values
build_model("twirls", graph.num_features, graph.num_classes)(with_sparse_features(graph)).sum().backward()
sparse_dropout_matmul(graph.x.to_sparse_csr(), torch.randn(graph.num_features, 4, requires_grad=True)).sum()
# no global filter was added for it (torch's own imports, e.g. sympy, may add theirs)
assert not any(f[1] is not None and "Sparse CSR" in f[1].pattern for f in warnings.filters), warnings.filters
print("ok")
"""


def test_python_api_keeps_the_csr_beta_warning_to_itself(tmp_path):
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-W", "always", "-c", _API_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert "Sparse CSR tensor support is in beta" not in out.stderr, out.stderr


def test_tune_and_glt_with_a_missing_dataset_create_nothing(tmp_path, capsys):
    db = tmp_path / "r.db"
    assert main(["glt", "--dataset", "no-such-dataset", "--db", str(db), "--plot", str(tmp_path / "p.png")]) == 2
    assert "no-such-dataset" in capsys.readouterr().err and not db.exists()
    assert main(["tune", "--dataset", "no-such-dataset", "--trials", "1", "--db", str(db)]) == 2
    assert "no-such-dataset" in capsys.readouterr().err and not db.exists()


def test_normalize_features_is_refused_for_a_disk_folder(tmp_path, capsys):
    argv = ["train", "--batching", "cluster", "--disk", str(tmp_path), "--normalize-features", "--db", str(tmp_path)]
    assert main(argv) == 2
    assert "a --disk graph's features are used as stored" in capsys.readouterr().err
