"""A PyG user's side issues (issue 31): a failed ``train`` creates nothing, the Python API keeps torch's CSR beta
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
